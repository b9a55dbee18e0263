package com.example.pitchcast.messages;

/** LLM tokens spent on the batch (0 for the template writer). */
public record Usage(int promptTokens, int completionTokens) {
}
