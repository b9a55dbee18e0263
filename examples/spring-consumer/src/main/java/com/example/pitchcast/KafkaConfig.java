package com.example.pitchcast;

import java.util.LinkedHashMap;
import java.util.Map;

import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.common.serialization.StringSerializer;

import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.kafka.autoconfigure.KafkaProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.dao.DataIntegrityViolationException;
import org.springframework.dao.DuplicateKeyException;
import org.springframework.kafka.config.TopicBuilder;
import org.springframework.kafka.core.DefaultKafkaProducerFactory;
import org.springframework.kafka.core.KafkaAdmin;
import org.springframework.kafka.core.KafkaTemplate;
import org.springframework.kafka.listener.DeadLetterPublishingRecoverer;
import org.springframework.kafka.listener.DefaultErrorHandler;
import org.springframework.kafka.support.serializer.DelegatingByTypeSerializer;
import org.springframework.kafka.support.serializer.JacksonJsonSerializer;
import org.springframework.util.backoff.ExponentialBackOff;

/**
 * The error handling of every listener container (Spring Boot applies the
 * {@link DefaultErrorHandler} bean to the containers it configures). Nothing is skipped:
 *
 * <ul>
 * <li>a record that cannot be read (bad JSON, an unknown {@code __TypeId__}, the wrong
 * shape: a {@code DeserializationException} from {@code ErrorHandlingDeserializer}) or
 * that lacks required fields ({@link InvalidMessageException}, a constraint violation) goes
 * straight to the dead-letter topic: retrying cannot fix it;</li>
 * <li>any other failure (the database down or restarting) is retried on the same record,
 * with the exponential back-off of {@link RetryProperties}, so the partition waits, in
 * order, until the database is back; only when the back-off is spent does the record go to
 * the dead-letter topic.</li>
 * </ul>
 *
 * <p>The dead-letter topic of a topic is its name with {@code -dlt} appended, one per
 * consumed topic, created at start-up (the consumer's own: pitchcast's
 * {@code commentary-dlq} holds what pitchcast could not process). A dead-lettered record
 * keeps its key and headers, plus Spring's {@code kafka_dlt-*} headers (original topic,
 * partition, offset, exception); its value is the original bytes when it could not be
 * read, and the record as this consumer read it (same snake_case JSON) otherwise.
 * Publishing to it must succeed: if it fails, the record is retried instead of committed.
 */
@Configuration(proxyBeanMethods = false)
@EnableConfigurationProperties(RetryProperties.class)
public class KafkaConfig {

    static final String DEAD_LETTER_SUFFIX = "-dlt";

    @Bean
    DefaultErrorHandler kafkaErrorHandler(KafkaTemplate<String, Object> deadLetterTemplate, RetryProperties retry) {
        // Partition -1: the producer picks it from the key, so a match's dead letters keep their order.
        DeadLetterPublishingRecoverer recoverer = new DeadLetterPublishingRecoverer(deadLetterTemplate,
                (record, exception) -> new TopicPartition(record.topic() + DEAD_LETTER_SUFFIX, -1));
        DefaultErrorHandler handler = new DefaultErrorHandler(recoverer, backOff(retry));
        // Deserialization and conversion failures are not retried by default; nor are these.
        handler.addNotRetryableExceptions(InvalidMessageException.class, DataIntegrityViolationException.class);
        // Except this one: a line and its record inserting the same new batch row at once.
        handler.addRetryableExceptions(DuplicateKeyException.class);
        // Each failed attempt, dead letter and failed dead letter logged with its cause.
        handler.setRetryListeners(new FailedRecordLog());
        return handler;
    }

    static ExponentialBackOff backOff(RetryProperties retry) {
        ExponentialBackOff backOff = new ExponentialBackOff(retry.initialInterval().toMillis(), retry.multiplier());
        backOff.setMaxInterval(retry.maxInterval().toMillis());
        backOff.setMaxElapsedTime(retry.maxElapsed().toMillis());
        return backOff;
    }

    /**
     * The producer of the dead-letter topics: the original bytes of a record that could not
     * be read, the snake_case JSON of one that was read; the original {@code __TypeId__}
     * header is kept, no Java class name is added.
     */
    @Bean
    KafkaTemplate<String, Object> deadLetterTemplate(KafkaProperties properties) {
        Map<Class<?>, Serializer<?>> byType = new LinkedHashMap<>();
        byType.put(byte[].class, new ByteArraySerializer());
        byType.put(Object.class, new JacksonJsonSerializer<>(SnakeCaseJsonDeserializer.mapper()).noTypeInfo());
        return new KafkaTemplate<>(new DefaultKafkaProducerFactory<>(properties.buildProducerProperties(),
                new StringSerializer(), new DelegatingByTypeSerializer(byType, true)));
    }

    /** The dead-letter topics, created at start-up if missing. */
    @Bean
    KafkaAdmin.NewTopics deadLetterTopics(@Value("${pitchcast.topics.commentary}") String commentary,
            @Value("${pitchcast.topics.lines}") String lines, @Value("${pitchcast.topics.dlq}") String dlq,
            @Value("${pitchcast.dead-letter.partitions}") int partitions) {
        return new KafkaAdmin.NewTopics(
                TopicBuilder.name(commentary + DEAD_LETTER_SUFFIX).partitions(partitions).build(),
                TopicBuilder.name(lines + DEAD_LETTER_SUFFIX).partitions(partitions).build(),
                TopicBuilder.name(dlq + DEAD_LETTER_SUFFIX).partitions(partitions).build());
    }

}
