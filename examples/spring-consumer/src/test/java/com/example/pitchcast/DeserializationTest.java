package com.example.pitchcast;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import com.example.pitchcast.messages.Commentary;
import com.example.pitchcast.messages.CommentaryLine;
import com.example.pitchcast.messages.DeadLetter;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.json.JsonMapper;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.kafka.core.ConsumerFactory;
import org.springframework.kafka.support.serializer.ErrorHandlingDeserializer;
import org.springframework.kafka.support.serializer.SerializationUtils;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The value deserializer exactly as application.yml configures it, on sample messages in
 * pitchcast's format (tests/unit checks the samples against pitchcast's JSON Schemas) and on
 * every record of the fixtures pitchcast's real worker published ({@link Fixtures}). No
 * broker: the listeners are not started.
 */
@SpringBootTest(properties = { "spring.kafka.listener.auto-startup=false", "spring.kafka.admin.auto-create=false",
        "spring.datasource.url=jdbc:h2:mem:deserialization", "spring.main.banner-mode=off" })
class DeserializationTest {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    @Autowired
    private ConsumerFactory<?, ?> consumerFactory;

    private ErrorHandlingDeserializer<Object> valueDeserializer() {
        ErrorHandlingDeserializer<Object> deserializer = new ErrorHandlingDeserializer<>();
        deserializer.configure(this.consumerFactory.getConfigurationProperties(), false);
        return deserializer;
    }

    private static Headers typed(String token) {
        RecordHeaders headers = new RecordHeaders();
        headers.add("content-type", "application/json".getBytes(StandardCharsets.UTF_8));
        headers.add("__TypeId__", token.getBytes(StandardCharsets.UTF_8));
        return headers;
    }

    private static byte[] sample(String name) throws IOException {
        try (InputStream in = DeserializationTest.class.getResourceAsStream("/samples/" + name + ".json")) {
            return in.readAllBytes();
        }
    }

    private static Object mapped(Object record) {
        return JSON.readValue(SnakeCaseJsonDeserializer.mapper().writeValueAsBytes(record), Object.class);
    }

    @Test
    void commentaryTokenMapsEverySnakeCaseFieldIntoTheRecord() throws IOException {
        byte[] json = sample("commentary");
        Object value = valueDeserializer().deserialize("commentary", typed("commentary"), json);

        assertThat(value).isInstanceOf(Commentary.class);
        Commentary commentary = (Commentary) value;
        assertThat(commentary.commentaryId()).isEqualTo(UUID.fromString("b140d7ef-7371-59da-9f70-745b01bab9a4"));
        assertThat(commentary.gameId()).isEqualTo(126283L);
        assertThat(commentary.firstActionId()).isEqualTo(170L);
        assertThat(commentary.fallbackReason()).isEqualTo("LLMTimeout");
        assertThat(commentary.usage().promptTokens()).isEqualTo(512);
        assertThat(commentary.items().get(0).timeSeconds()).isEqualTo(612.4);
        assertThat(commentary.items().get(0).visible()).isTrue();
        assertThat(commentary.items().get(1).visible()).isFalse();
        assertThat(commentary.items().get(1).toldWith()).isEqualTo(170L);
        assertThat(SameJson.differences(JSON.readValue(json, Object.class), mapped(commentary))).isEmpty();
    }

    @Test
    void anItemWithoutShownIsShown() {
        // Records before pitchcast 0.3 carry neither shown nor told_with (schema-evolution.md).
        String json = """
                {"commentary_id":"b140d7ef-7371-59da-9f70-745b01bab9a4","line_index":0,"game_id":1,
                 "batch_index":0,"persona":"CASTER","final":false,"created_at":"2026-11-22T12:00:00Z",
                 "item":{"action_id":1,"time_seconds":1.0,"tone":"calm","description":"x"}}""";
        Object line = valueDeserializer().deserialize("commentary-lines", typed("commentary_line"),
                json.getBytes(StandardCharsets.UTF_8));
        assertThat(((CommentaryLine) line).item().visible()).isTrue();
        assertThat(((CommentaryLine) line).item().toldWith()).isNull();
    }

    @Test
    void lineAndDeadLetterTokensMapTheirRecords() throws IOException {
        ErrorHandlingDeserializer<Object> deserializer = valueDeserializer();
        byte[] lineJson = sample("commentary_line");
        Object line = deserializer.deserialize("commentary-lines", typed("commentary_line"), lineJson);
        byte[] letterJson = sample("dead_letter");
        Object letter = deserializer.deserialize("commentary-dlq", typed("dead_letter"), letterJson);

        assertThat(line).isInstanceOf(CommentaryLine.class);
        assertThat(((CommentaryLine) line).last()).isTrue();
        assertThat(((CommentaryLine) line).lineId()).isEqualTo("b140d7ef-7371-59da-9f70-745b01bab9a4:1");
        assertThat(SameJson.differences(JSON.readValue(lineJson, Object.class), mapped(line))).isEmpty();
        assertThat(letter).isInstanceOf(DeadLetter.class);
        assertThat(((DeadLetter) letter).errorKind()).isEqualTo("UndecodableMessage");
        assertThat(SameJson.differences(JSON.readValue(letterJson, Object.class), mapped(letter))).isEmpty();
    }

    @Test
    void everyFieldOfEveryFixtureRecordIsMapped() {
        ErrorHandlingDeserializer<Object> deserializer = valueDeserializer();
        Map<String, List<Fixtures.Fixture>> topics = Map.of("commentary", Fixtures.COMMENTARY, "commentary-lines",
                Fixtures.LINES, "commentary-dlq", Fixtures.DEAD_LETTERS);
        int mapped = 0;
        for (Map.Entry<String, List<Fixtures.Fixture>> topic : topics.entrySet()) {
            for (Fixtures.Fixture fixture : topic.getValue()) {
                RecordHeaders headers = new RecordHeaders(fixture.headers());
                Object value = deserializer.deserialize(topic.getKey(), headers, fixture.value());
                assertThat(value).as("%s %s", topic.getKey(), new String(fixture.value(), StandardCharsets.UTF_8))
                    .isNotNull();
                assertThat(SameJson.differences(fixture.json(), mapped(value))).isEmpty();
                mapped++;
            }
        }
        assertThat(mapped).isEqualTo(Fixtures.COMMENTARY.size() + Fixtures.LINES.size() + Fixtures.DEAD_LETTERS.size());
    }

    @Test
    void unknownFieldsAreIgnored() throws IOException {
        @SuppressWarnings("unchecked")
        Map<String, Object> json = JSON.readValue(sample("commentary"), Map.class);
        json.put("added_within_v1", Map.of("anything", 1));

        Object value = valueDeserializer().deserialize("commentary", typed("commentary"), JSON.writeValueAsBytes(json));

        assertThat(value).isInstanceOf(Commentary.class);
    }

    @Test
    void unreadableRecordsBecomeErrorsInsteadOfThrowing() throws IOException {
        ErrorHandlingDeserializer<Object> deserializer = valueDeserializer();
        Headers badJson = typed("commentary");
        Headers javaClassName = typed("com.example.evil.Gadget");
        Headers noType = new RecordHeaders();

        assertThat(deserializer.deserialize("commentary", badJson, "{not json".getBytes(StandardCharsets.UTF_8))).isNull();
        assertThat(deserializer.deserialize("commentary", javaClassName, sample("commentary"))).isNull();
        assertThat(deserializer.deserialize("commentary", noType, sample("commentary"))).isNull();

        for (Headers headers : new Headers[] { badJson, javaClassName, noType }) {
            assertThat(headers.lastHeader(SerializationUtils.VALUE_DESERIALIZER_EXCEPTION_HEADER)).isNotNull();
        }
    }

}
