package com.example.pitchcast;

import java.io.File;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

import com.example.pitchcast.CommentaryStore.StoredBatch;
import com.example.pitchcast.CommentaryStore.StoredItem;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import tools.jackson.databind.json.JsonMapper;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The application on pitchcast's live pipeline: the broker and topics the real worker just
 * wrote to, plus poison records and redelivered copies the Python side appended.
 *
 * <p>Run by pitchcast's tests/integration/test_spring_consumer.py, which writes the plan
 * ({@code -Dpitchcast.expected=FILE}): broker, topics, consumer group, and every record on
 * the topics with its role (original, duplicate, poison) and its JSON value. This test
 * waits until the group has committed every record, checks that each batch is stored as
 * its record says, and writes the store and the dead letters it logged to the plan's
 * result file; the Python side checks them again and reads the dead-letter topics.
 * Without the plan it is skipped: {@link EmbeddedBrokerTest} is the standalone test.
 */
@SpringBootTest(properties = { "spring.main.banner-mode=off", "logging.level.org.apache.kafka=warn",
        "spring.datasource.url=jdbc:h2:mem:live;DB_CLOSE_DELAY=-1" })
@EnabledIfSystemProperty(named = "pitchcast.expected", matches = ".+")
class PitchcastOutputTest {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    private static Map<String, Object> plan;

    @Autowired
    private CommentaryStore store;

    @Autowired
    private DeadLetterLog deadLetters;

    @DynamicPropertySource
    static void broker(DynamicPropertyRegistry registry) {
        plan = Fixtures.map(JSON.readValue(new File(System.getProperty("pitchcast.expected")), Map.class));
        Map<String, Object> topics = Fixtures.map(plan.get("topics"));
        registry.add("spring.kafka.bootstrap-servers", () -> plan.get("bootstrap"));
        registry.add("spring.kafka.consumer.group-id", () -> plan.get("group_id"));
        registry.add("pitchcast.topics.commentary", () -> topics.get("commentary"));
        registry.add("pitchcast.topics.lines", () -> topics.get("lines"));
        registry.add("pitchcast.topics.dlq", () -> topics.get("dlq"));
    }

    @Test
    void storesEveryBatchAsItsRecordSays() throws Exception {
        Map<String, Object> topics = Fixtures.map(plan.get("topics"));
        Duration timeout = Duration.ofSeconds(((Number) plan.get("timeout_s")).longValue());
        try (KafkaProbe kafka = new KafkaProbe((String) plan.get("bootstrap"))) {
            Set<String> names = new HashSet<>();
            topics.values().forEach((name) -> names.add((String) name));
            kafka.awaitConsumed((String) plan.get("group_id"), names, timeout);
        }
        writeResult(new File((String) plan.get("result")));

        Set<UUID> commentaryIds = new HashSet<>();
        List<String> differences = new ArrayList<>();
        for (Object entry : (List<?>) plan.get("records")) {
            Map<String, Object> record = Fixtures.map(entry);
            if (!"commentary".equals(record.get("channel")) || !"original".equals(record.get("role"))) {
                continue;
            }
            Map<String, Object> value = Fixtures.map(record.get("value"));
            UUID id = UUID.fromString((String) value.get("commentary_id"));
            commentaryIds.add(id);
            StoredBatch batch = this.store.batch(id).orElse(null);
            if (batch == null || !batch.complete()) {
                differences.add(id + ": not stored complete: " + batch);
                continue;
            }
            List<Object> stored = this.store.items(id)
                .stream()
                .map((item) -> (Object) itemJson(item))
                .toList();
            differences.addAll(SameJson.differences(value.get("items"), stored));
        }
        assertThat(commentaryIds).isNotEmpty();
        assertThat(differences).isEmpty();
        assertThat(this.store.batches()).map(StoredBatch::commentaryId).containsExactlyInAnyOrderElementsOf(commentaryIds);
        assertThat(this.deadLetters.letters()).isNotEmpty();
    }

    /** A stored item in pitchcast's item shape (told_with may be null: no Map.of). */
    private static Map<String, Object> itemJson(StoredItem item) {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("action_id", item.actionId());
        json.put("time_seconds", item.timeSeconds());
        json.put("tone", item.tone());
        json.put("description", item.description());
        json.put("shown", item.shown());
        json.put("told_with", item.toldWith());
        return json;
    }

    private void writeResult(File file) {
        List<Object> batches = new ArrayList<>();
        for (StoredBatch batch : this.store.batches()) {
            Map<String, Object> entry = new LinkedHashMap<>();
            entry.put("commentary_id", batch.commentaryId().toString());
            entry.put("persona", batch.persona());
            entry.put("batch_index", batch.batchIndex());
            entry.put("complete", batch.complete());
            entry.put("final_line_index", batch.finalLineIndex());
            entry.put("items", this.store.items(batch.commentaryId())
                .stream()
                .map(PitchcastOutputTest::itemJson)
                .toList());
            batches.add(entry);
        }
        List<Object> moments = new ArrayList<>();
        this.store.batches().stream().map(StoredBatch::gameId).distinct().forEach((gameId) -> {
            for (CommentaryStore.StoredMoment moment : this.store.moments(gameId)) {
                Map<String, Object> entry = new LinkedHashMap<>();
                entry.put("commentary_id", moment.commentaryId().toString());
                entry.put("line_index", moment.lineIndex());
                entry.put("persona", moment.persona());
                entry.put("action_id", moment.actionId());
                entry.put("description", moment.description());
                moments.add(entry);
            }
        });
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("batches", batches);
        result.put("moments", moments);
        result.put("dead_letters", this.deadLetters.letters()
            .stream()
            .map((letter) -> JSON.readValue(SnakeCaseJsonDeserializer.mapper().writeValueAsBytes(letter), Object.class))
            .toList());
        JSON.writerWithDefaultPrettyPrinter().writeValue(file, result);
    }

}
