package com.example.pitchcast;

import java.io.IOException;
import java.time.Duration;

import org.junit.jupiter.api.Test;

import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.env.YamlPropertySourceLoader;
import org.springframework.core.env.StandardEnvironment;
import org.springframework.core.io.ClassPathResource;
import org.springframework.util.backoff.BackOffExecution;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The back-off application.yml configures rides out a database restart or a managed
 * fail-over (README.md: why 5 minutes), and never sleeps so long at once that the consumer
 * would leave its group (each wait is one sleep between two polls).
 */
class RetryBackOffTest {

    private static final Duration MAX_POLL_INTERVAL = Duration.ofMinutes(5); // Kafka's default

    @Test
    void applicationBackOffRetriesForFiveMinutesWithWaitsOfAtMostThirtySeconds() throws IOException {
        StandardEnvironment environment = new StandardEnvironment();
        new YamlPropertySourceLoader().load("application", new ClassPathResource("application.yml"))
            .forEach(environment.getPropertySources()::addLast);
        RetryProperties retry = Binder.get(environment).bind("pitchcast.retry", RetryProperties.class).get();

        BackOffExecution execution = KafkaConfig.backOff(retry).start();
        long waited = 0;
        int retries = 0;
        long longest = 0;
        for (long wait = execution.nextBackOff(); wait != BackOffExecution.STOP; wait = execution.nextBackOff()) {
            waited += wait;
            longest = Math.max(longest, wait);
            retries++;
        }

        assertThat(Duration.ofMillis(waited)).isBetween(Duration.ofMinutes(4), Duration.ofMinutes(6));
        assertThat(Duration.ofMillis(longest)).isEqualTo(Duration.ofSeconds(30)).isLessThan(MAX_POLL_INTERVAL);
        assertThat(retries).isBetween(10, 20);
    }

}
