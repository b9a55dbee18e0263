package com.example.pitchcast.messages;

import java.time.Instant;
import java.util.UUID;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * {@code pitchcast.commentary_line.v1}: one line, published as soon as it is valid
 * ({@code __TypeId__: commentary_line} on {@code commentary-lines}). Its id is
 * {@code commentaryId:lineIndex}.
 *
 * @param last the JSON field {@code final} (true on the batch's last line); {@code final}
 *     is a Java keyword, so this one component is named explicitly
 * @param source who wrote the line: {@code llm}, or {@code template} when the LLM did not
 *     write it validly in time (added within v1: null on lines of older pitchcast releases);
 *     {@code control} for a line of the match's flow (kick-off, half-time, full time; added in
 *     pitchcast 0.3), which tells no action and is not an item of the batch's record
 */
public record CommentaryLine(
        String schema,
        UUID commentaryId,
        int lineIndex,
        long gameId,
        int batchIndex,
        String persona,
        CommentaryItem item,
        @JsonProperty("final") boolean last,
        Instant createdAt,
        String source) {

    /** Whether this is a line of the match's flow rather than of an action. */
    public boolean moment() {
        return "control".equals(this.source);
    }

    /** The line id: {@code commentary_id:line_index}. */
    public String lineId() {
        return this.commentaryId + ":" + this.lineIndex;
    }

}
