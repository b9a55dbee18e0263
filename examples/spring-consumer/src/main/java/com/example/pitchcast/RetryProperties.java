package com.example.pitchcast;

import java.time.Duration;

import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * The back-off of a listener failure that may pass (the database down or restarting),
 * {@code pitchcast.retry.*} in application.yml: the first retry after
 * {@code initialInterval}, each next wait {@code multiplier} times longer up to
 * {@code maxInterval}, and no new retry once the waits add up to {@code maxElapsed}; then
 * the record goes to the dead-letter topic.
 */
@ConfigurationProperties("pitchcast.retry")
public record RetryProperties(Duration initialInterval, double multiplier, Duration maxInterval,
        Duration maxElapsed) {
}
