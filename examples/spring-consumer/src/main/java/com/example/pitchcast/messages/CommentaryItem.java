package com.example.pitchcast.messages;

/**
 * The commentary of one action: its line, or (density) the line it was told with.
 *
 * @param tone one of excited, tense, calm, analytical, playful, disappointed; kept as a
 *     string so that a value added within v1 does not fail deserialization
 * @param description the line; empty when the action has no line of its own
 * @param shown whether the action has a line of its own on commentary-lines; null (absent,
 *     records before pitchcast 0.3) means shown
 * @param toldWith when not shown: the action id of the shown item whose line tells this
 *     action's moment (of the same record, or of the match's record before it when the
 *     batch boundary split the moment), or null when no line tells it
 */
public record CommentaryItem(long actionId, double timeSeconds, String tone, String description, Boolean shown,
        Long toldWith) {

    /** Whether the backend shows this item as a line: absent means shown. */
    public boolean visible() {
        return this.shown == null || this.shown;
    }

}
