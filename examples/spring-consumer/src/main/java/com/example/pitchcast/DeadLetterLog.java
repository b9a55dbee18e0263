package com.example.pitchcast;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import com.example.pitchcast.messages.DeadLetter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.springframework.stereotype.Component;

/**
 * Logs pitchcast's dead letters (input or batches it could not process) so that they reach
 * the backend team's alerting; a real backend may also store them for replay.
 */
@Component
public class DeadLetterLog {

    private static final Logger log = LoggerFactory.getLogger(DeadLetterLog.class);

    private final List<DeadLetter> letters = new CopyOnWriteArrayList<>();

    public void record(DeadLetter letter) {
        this.letters.add(letter);
        log.warn("pitchcast.consumer.dead_letter error_kind={} source_topic={} partition={} offset={} "
                + "game_id={} value_length={}: {}", letter.errorKind(), letter.sourceTopic(), letter.partition(),
                letter.offset(), letter.gameId(), letter.valueLength(), letter.errorMessage());
    }

    public List<DeadLetter> letters() {
        return List.copyOf(this.letters);
    }

}
