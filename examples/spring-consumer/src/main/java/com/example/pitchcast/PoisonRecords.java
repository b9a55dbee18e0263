package com.example.pitchcast;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Records this consumer could not read (bad JSON, an unknown {@code __TypeId__}, a payload of
 * the wrong shape): logged with where they are, then skipped, so one bad record never stops
 * the consumer. Wired as the recoverer of the container's error handler ({@link KafkaConfig}).
 */
public class PoisonRecords {

    private static final Logger log = LoggerFactory.getLogger(PoisonRecords.class);

    /** Where a skipped record is, and why it was skipped. */
    public record Poison(String topic, int partition, long offset, String error) {
    }

    private final List<Poison> poisons = new CopyOnWriteArrayList<>();

    public void recover(ConsumerRecord<?, ?> record, Exception exception) {
        Throwable cause = rootCause(exception);
        String message = String.valueOf(cause.getMessage()).lines().findFirst().orElse("");
        String error = cause.getClass().getSimpleName() + ": " + message;
        this.poisons.add(new Poison(record.topic(), record.partition(), record.offset(), error));
        log.error("pitchcast.consumer.poison topic={} partition={} offset={} key={}: {}", record.topic(),
                record.partition(), record.offset(), record.key(), error);
    }

    public List<Poison> poisons() {
        return List.copyOf(this.poisons);
    }

    private static Throwable rootCause(Exception exception) {
        // The innermost cause says what was wrong (Jackson's parse error, the untrusted type).
        Throwable cause = exception;
        while (cause.getCause() != null && cause.getCause() != cause) {
            cause = cause.getCause();
        }
        return cause;
    }

}
