package com.example.pitchcast;

import java.io.IOException;
import java.util.Map;

import org.junit.jupiter.api.Test;

import org.springframework.boot.env.YamlPropertySourceLoader;
import org.springframework.core.env.StandardEnvironment;
import org.springframework.core.env.SystemEnvironmentPropertySource;
import org.springframework.core.io.ClassPathResource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The topics this application reads follow the variables pitchcast's worker is deployed with
 * (PITCHCAST_TOPIC_*): set with only those, it read the default topics and stored nothing,
 * without an error. Spring's own PITCHCAST_TOPICS_* (relaxed binding) still win.
 */
class TopicSettingsTest {

    private static StandardEnvironment environment(Map<String, Object> variables) throws IOException {
        StandardEnvironment environment = new StandardEnvironment();
        environment.getPropertySources().remove(StandardEnvironment.SYSTEM_ENVIRONMENT_PROPERTY_SOURCE_NAME);
        environment.getPropertySources().addFirst(
            new SystemEnvironmentPropertySource(StandardEnvironment.SYSTEM_ENVIRONMENT_PROPERTY_SOURCE_NAME, variables));
        new YamlPropertySourceLoader().load("application", new ClassPathResource("application.yml"))
            .forEach(environment.getPropertySources()::addLast);
        return environment;
    }

    @Test
    void topicsDefaultToPitchcastsDefaults() throws IOException {
        StandardEnvironment environment = environment(Map.of());
        assertThat(environment.getProperty("pitchcast.topics.commentary")).isEqualTo("commentary");
        assertThat(environment.getProperty("pitchcast.topics.lines")).isEqualTo("commentary-lines");
        assertThat(environment.getProperty("pitchcast.topics.dlq")).isEqualTo("commentary-dlq");
    }

    @Test
    void topicsFollowTheWorkersVariables() throws IOException {
        StandardEnvironment environment = environment(Map.of(
            "PITCHCAST_TOPIC_COMMENTARY", "acme-commentary",
            "PITCHCAST_TOPIC_LINES", "acme-lines",
            "PITCHCAST_TOPIC_DLQ", "acme-dlq"));
        assertThat(environment.getProperty("pitchcast.topics.commentary")).isEqualTo("acme-commentary");
        assertThat(environment.getProperty("pitchcast.topics.lines")).isEqualTo("acme-lines");
        assertThat(environment.getProperty("pitchcast.topics.dlq")).isEqualTo("acme-dlq");
    }

    @Test
    void springsOwnVariablesStillWin() throws IOException {
        StandardEnvironment environment = environment(Map.of(
            "PITCHCAST_TOPIC_COMMENTARY", "acme-commentary",
            "PITCHCAST_TOPICS_COMMENTARY", "spring-commentary"));
        assertThat(environment.getProperty("pitchcast.topics.commentary")).isEqualTo("spring-commentary");
    }
}
