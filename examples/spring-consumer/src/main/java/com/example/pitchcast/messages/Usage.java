package com.example.pitchcast.messages;

/**
 * LLM tokens spent on the batch (0 for the template writer); {@code cachedPromptTokens}
 * of the prompt tokens came from the server's prefix cache (0 when it does not say).
 */
public record Usage(int promptTokens, int completionTokens, int cachedPromptTokens) {
}
