package com.example.pitchcast.messages;

import java.time.Instant;
import java.util.Map;

/**
 * {@code pitchcast.dead_letter.v1}: a message pitchcast could not process, with enough to
 * replay it ({@code __TypeId__: dead_letter} on {@code commentary-dlq}).
 *
 * @param value the raw value as text, or base64 when {@code valueEncoding} is base64; capped
 */
public record DeadLetter(
        String schema,
        String sourceTopic,
        Integer partition,
        Long offset,
        String key,
        String value,
        String valueEncoding,
        long valueLength,
        String valueSha256,
        boolean valueTruncated,
        String errorKind,
        String errorMessage,
        Instant failedAt,
        Long gameId,
        Map<String, Object> extra) {
}
