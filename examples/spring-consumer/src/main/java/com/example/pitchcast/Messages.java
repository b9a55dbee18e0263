package com.example.pitchcast;

import java.util.List;

import com.example.pitchcast.messages.Commentary;
import com.example.pitchcast.messages.CommentaryItem;
import com.example.pitchcast.messages.CommentaryLine;

/**
 * The checks a record passes before it is stored: the required fields of pitchcast's
 * schemas that Jackson leaves null when they are missing. A record that fails them is
 * dead-lettered, not retried ({@link InvalidMessageException}).
 */
final class Messages {

    private Messages() {
    }

    static void requireComplete(Commentary record) {
        require(record.commentaryId() != null, "commentary without commentary_id");
        require(record.persona() != null && record.source() != null && record.createdAt() != null
                && record.score() != null && record.usage() != null, "commentary without persona, source, "
                        + "created_at, score or usage: " + record.commentaryId());
        require(record.items() != null && !record.items().isEmpty(), "commentary without items: " + record.commentaryId());
        List<CommentaryItem> items = record.items();
        for (CommentaryItem item : items) {
            require(complete(item), "commentary with an incomplete item: " + record.commentaryId());
        }
    }

    static void requireComplete(CommentaryLine line) {
        require(line.commentaryId() != null, "line without commentary_id");
        require(line.persona() != null && line.createdAt() != null, "line without persona or created_at: "
                + line.lineId());
        require(complete(line.item()), "line with a missing or incomplete item: " + line.lineId());
    }

    private static boolean complete(CommentaryItem item) {
        return item != null && item.tone() != null && item.description() != null;
    }

    private static void require(boolean condition, String message) {
        if (!condition) {
            throw new InvalidMessageException(message);
        }
    }

}
