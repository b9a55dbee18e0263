package com.example.pitchcast;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.springframework.core.NestedExceptionUtils;
import org.springframework.kafka.listener.RetryListener;

/**
 * Logs what the error handler does with a record that failed ({@link KafkaConfig}): each
 * failed attempt with its cause (while the database is down, every retry says why), each
 * record sent to the dead-letter topic, and a dead letter that could not be published.
 * Spring Kafka itself logs none of these causes by default, only that a record is "in
 * retry"; a record dead-lettered without a line here would reach no alerting.
 *
 * <p>The key and the record's place (topic, partition, offset) are logged, never the value.
 */
class FailedRecordLog implements RetryListener {

    private static final Logger log = LoggerFactory.getLogger(FailedRecordLog.class);

    @Override
    public void failedDelivery(ConsumerRecord<?, ?> record, Exception ex, int deliveryAttempt) {
        log.warn("pitchcast.consumer.delivery_failed topic={} partition={} offset={} key={} attempt={}: {}",
                record.topic(), record.partition(), record.offset(), record.key(), deliveryAttempt, cause(ex));
    }

    @Override
    public void recovered(ConsumerRecord<?, ?> record, Exception ex) {
        log.error("pitchcast.consumer.dead_lettered topic={} partition={} offset={} key={} to={}: {}", record.topic(),
                record.partition(), record.offset(), record.key(), record.topic() + KafkaConfig.DEAD_LETTER_SUFFIX,
                cause(ex));
    }

    @Override
    public void recoveryFailed(ConsumerRecord<?, ?> record, Exception original, Exception failure) {
        log.error("pitchcast.consumer.dead_letter_failed topic={} partition={} offset={} key={} (retried, not "
                + "committed): {}; the record failed with: {}", record.topic(), record.partition(), record.offset(),
                record.key(), cause(failure), cause(original));
    }

    /** The innermost cause, which names the problem (the outer ones name Spring's layers). */
    static String cause(Throwable ex) {
        Throwable cause = NestedExceptionUtils.getMostSpecificCause(ex);
        return cause.getClass().getName() + ": " + cause.getMessage();
    }

}
