package com.example.pitchcast;

import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.kafka.listener.DefaultErrorHandler;
import org.springframework.util.backoff.FixedBackOff;

/** The error handling of every listener container (Spring Boot picks up the handler bean). */
@Configuration(proxyBeanMethods = false)
public class KafkaConfig {

    @Bean
    PoisonRecords poisonRecords() {
        return new PoisonRecords();
    }

    /**
     * Deserialization and conversion failures are not retried (Spring Kafka classifies them
     * as fatal) and go straight to the recoverer; other listener failures are retried twice,
     * one second apart, then recovered. Either way the record is skipped and the consumer
     * goes on.
     */
    @Bean
    DefaultErrorHandler kafkaErrorHandler(PoisonRecords poisonRecords) {
        return new DefaultErrorHandler(poisonRecords::recover, new FixedBackOff(1000L, 2L));
    }

}
