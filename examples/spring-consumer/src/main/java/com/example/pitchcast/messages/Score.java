package com.example.pitchcast.messages;

/** The running score at the batch's close. */
public record Score(int home, int away) {
}
