package com.example.pitchcast;

/**
 * A record that was read but lacks what pitchcast's schema requires (a missing id, item
 * or text). Retrying cannot fix it: the error handler sends it straight to the dead-letter
 * topic ({@link KafkaConfig}).
 */
public class InvalidMessageException extends RuntimeException {

    public InvalidMessageException(String message) {
        super(message);
    }

}
