package com.example.pitchcast.messages;

/**
 * One commentary line for one action.
 *
 * @param tone one of excited, tense, calm, analytical, playful, disappointed; kept as a
 *     string so that a value added within v1 does not fail deserialization
 */
public record CommentaryItem(long actionId, double timeSeconds, String tone, String description) {
}
