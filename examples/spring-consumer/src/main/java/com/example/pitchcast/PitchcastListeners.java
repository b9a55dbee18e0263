package com.example.pitchcast;

import com.example.pitchcast.messages.Commentary;
import com.example.pitchcast.messages.CommentaryLine;
import com.example.pitchcast.messages.DeadLetter;

import org.springframework.kafka.annotation.KafkaListener;
import org.springframework.stereotype.Component;

/**
 * One listener per pitchcast topic. The value deserializer has already turned each record
 * into the record class its {@code __TypeId__} header names (see application.yml).
 */
@Component
public class PitchcastListeners {

    private final CommentaryFeed feed;

    private final DeadLetterLog deadLetters;

    public PitchcastListeners(CommentaryFeed feed, DeadLetterLog deadLetters) {
        this.feed = feed;
        this.deadLetters = deadLetters;
    }

    @KafkaListener(topics = "${pitchcast.topics.commentary}")
    public void commentary(Commentary commentary) {
        this.feed.upsert(commentary);
    }

    @KafkaListener(topics = "${pitchcast.topics.lines}")
    public void line(CommentaryLine line) {
        this.feed.upsert(line);
    }

    @KafkaListener(topics = "${pitchcast.topics.dlq}")
    public void deadLetter(DeadLetter letter) {
        this.deadLetters.record(letter);
    }

}
