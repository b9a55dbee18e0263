package com.example.pitchcast.messages;

import java.time.Instant;
import java.util.List;
import java.util.UUID;

/**
 * {@code pitchcast.commentary.v1}: the complete, authoritative commentary of one batch in
 * one persona ({@code __TypeId__: commentary} on the {@code commentary} topic).
 *
 * <p>Field names are the JSON's in camelCase; the deserializer's mapper translates them
 * from snake_case ({@link com.example.pitchcast.SnakeCaseJsonDeserializer}). The same
 * (game, batch, persona) always has the same {@code commentaryId}: upsert by it.
 */
public record Commentary(
        String schema,
        UUID commentaryId,
        long gameId,
        int batchIndex,
        String persona,
        int periodId,
        long firstActionId,
        long lastActionId,
        String closeReason,
        Score score,
        List<CommentaryItem> items,
        String source,
        String fallbackReason,
        String model,
        Usage usage,
        Instant createdAt) {
}
