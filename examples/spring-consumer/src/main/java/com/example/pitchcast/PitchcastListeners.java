package com.example.pitchcast;

import com.example.pitchcast.messages.Commentary;
import com.example.pitchcast.messages.CommentaryLine;
import com.example.pitchcast.messages.DeadLetter;

import org.springframework.kafka.annotation.KafkaListener;
import org.springframework.stereotype.Component;

/**
 * One listener per pitchcast topic. The value deserializer has already turned each record
 * into the record class its {@code __TypeId__} header names (see application.yml); a
 * listener that throws leaves the record to the error handler ({@link KafkaConfig}):
 * retried when the failure may pass (the database), dead-lettered otherwise, never skipped.
 */
@Component
public class PitchcastListeners {

    private final CommentaryStore store;

    private final DeadLetterLog deadLetters;

    public PitchcastListeners(CommentaryStore store, DeadLetterLog deadLetters) {
        this.store = store;
        this.deadLetters = deadLetters;
    }

    @KafkaListener(topics = "${pitchcast.topics.commentary}")
    public void commentary(Commentary commentary) {
        this.store.saveRecord(commentary);
    }

    @KafkaListener(topics = "${pitchcast.topics.lines}")
    public void line(CommentaryLine line) {
        this.store.saveLine(line);
    }

    @KafkaListener(topics = "${pitchcast.topics.dlq}")
    public void deadLetter(DeadLetter letter) {
        this.deadLetters.record(letter);
    }

}
