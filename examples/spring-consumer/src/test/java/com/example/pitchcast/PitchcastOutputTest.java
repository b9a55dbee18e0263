package com.example.pitchcast;

import java.io.File;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import tools.jackson.databind.json.JsonMapper;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The application on a real broker, on records pitchcast's worker produced, plus a
 * redelivered copy of some of them and poison records in between.
 *
 * <p>Run by pitchcast's tests/integration/test_spring_consumer.py, which writes the plan
 * ({@code -Dpitchcast.expected=FILE}): broker, topics, consumer group, and every record on
 * the topics with its role (original, duplicate, poison) and its JSON value. This test
 * waits until the application has handled every record, writes what it mapped to the
 * plan's result file (for the Python side), then checks every field of every record.
 */
@SpringBootTest(properties = { "spring.main.banner-mode=off", "logging.level.org.apache.kafka=warn" })
@EnabledIfSystemProperty(named = "pitchcast.expected", matches = ".+")
class PitchcastOutputTest {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    private static Map<String, Object> plan;

    @Autowired
    private CommentaryFeed feed;

    @Autowired
    private DeadLetterLog deadLetters;

    @Autowired
    private PoisonRecords poisonRecords;

    @DynamicPropertySource
    static void broker(DynamicPropertyRegistry registry) {
        plan = readPlan();
        Map<String, Object> topics = map(plan.get("topics"));
        registry.add("spring.kafka.bootstrap-servers", () -> plan.get("bootstrap"));
        registry.add("spring.kafka.consumer.group-id", () -> plan.get("group_id"));
        registry.add("pitchcast.topics.commentary", () -> topics.get("commentary"));
        registry.add("pitchcast.topics.lines", () -> topics.get("lines"));
        registry.add("pitchcast.topics.dlq", () -> topics.get("dlq"));
    }

    @Test
    void mapsEveryFieldShowsEachIdOnceAndSkipsPoison() throws Exception {
        List<Map<String, Object>> records = new ArrayList<>();
        for (Object record : (List<?>) plan.get("records")) {
            records.add(map(record));
        }
        Map<String, Object> topics = map(plan.get("topics"));
        awaitEveryRecord(records, topics, Duration.ofSeconds(((Number) plan.get("timeout_s")).longValue()));
        writeResult(new File((String) plan.get("result")));

        // Every field of every record, through the type mapping and the snake_case mapper.
        List<String> differences = new ArrayList<>();
        Set<String> commentaryIds = new HashSet<>();
        Set<String> lineIds = new HashSet<>();
        int duplicates = 0;
        for (Map<String, Object> record : records) {
            String role = (String) record.get("role");
            Map<String, Object> value = map(record.get("value"));
            duplicates += "duplicate".equals(role) ? 1 : 0;
            if (!"original".equals(role)) {
                continue;
            }
            Object mapped = switch ((String) record.get("channel")) {
                case "commentary" -> {
                    String id = (String) value.get("commentary_id");
                    commentaryIds.add(id);
                    yield this.feed.commentary().get(UUID.fromString(id));
                }
                case "lines" -> {
                    String id = value.get("commentary_id") + ":" + value.get("line_index");
                    lineIds.add(id);
                    yield this.feed.lines().get(id);
                }
                case "dlq" -> this.deadLetters.letters()
                    .stream()
                    .filter((letter) -> letter.valueSha256().equals(value.get("value_sha256")))
                    .findFirst()
                    .orElse(null);
                default -> throw new IllegalStateException("unknown channel " + record.get("channel"));
            };
            if (mapped == null) {
                differences.add(record.get("channel") + "@" + record.get("offset") + ": never received");
                continue;
            }
            for (String difference : SameJson.differences(value, tree(mapped))) {
                differences.add(record.get("channel") + "@" + record.get("offset") + " " + difference);
            }
        }
        assertThat(differences).isEmpty();
        assertThat(commentaryIds).isNotEmpty();
        assertThat(lineIds).isNotEmpty();
        assertThat(this.deadLetters.letters()).isNotEmpty();

        // Upserts: each commentary id and line id shown once, redeliveries only replaced.
        assertThat(this.feed.commentary().keySet()).map(UUID::toString).containsExactlyInAnyOrderElementsOf(commentaryIds);
        assertThat(this.feed.lines().keySet()).containsExactlyInAnyOrderElementsOf(lineIds);
        assertThat(this.feed.shown()).doesNotHaveDuplicates().hasSize(commentaryIds.size() + lineIds.size());
        assertThat(this.feed.redelivered()).isEqualTo(duplicates);
        assertThat(duplicates).isPositive();

        // Poison: logged with where it is, skipped; the records after it were still read.
        List<String> expectedPoison = new ArrayList<>();
        for (Map<String, Object> record : records) {
            if ("poison".equals(record.get("role"))) {
                expectedPoison.add(topics.get(record.get("channel")) + "/" + record.get("partition") + "@" + record.get("offset"));
            }
        }
        assertThat(expectedPoison).isNotEmpty();
        assertThat(this.poisonRecords.poisons())
            .map((p) -> p.topic() + "/" + p.partition() + "@" + p.offset())
            .containsExactlyInAnyOrderElementsOf(expectedPoison);
    }

    /** Waits until the application has handled (listener or error handler) every record. */
    private void awaitEveryRecord(List<Map<String, Object>> records, Map<String, Object> topics, Duration timeout)
            throws InterruptedException {
        Map<String, Long> expected = new LinkedHashMap<>();
        for (Map<String, Object> record : records) {
            expected.merge((String) record.get("channel"), 1L, Long::sum);
        }
        Instant deadline = Instant.now().plus(timeout);
        Map<String, Long> handled = handled(topics);
        while (!handled.equals(expected) && Instant.now().isBefore(deadline)) {
            Thread.sleep(200);
            handled = handled(topics);
        }
        assertThat(handled).as("records handled per topic").isEqualTo(expected);
    }

    private Map<String, Long> handled(Map<String, Object> topics) {
        Map<String, Long> handled = new LinkedHashMap<>();
        handled.put("commentary", this.feed.commentaryReceived());
        handled.put("lines", this.feed.linesReceived());
        handled.put("dlq", (long) this.deadLetters.letters().size());
        for (PoisonRecords.Poison poison : this.poisonRecords.poisons()) {
            topics.forEach((channel, topic) -> {
                if (topic.equals(poison.topic())) {
                    handled.merge(channel, 1L, Long::sum);
                }
            });
        }
        handled.values().removeIf((n) -> n == 0);
        return handled;
    }

    private void writeResult(File file) {
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("commentary", this.feed.commentary().values().stream().map(PitchcastOutputTest::tree).toList());
        result.put("lines", this.feed.lines().values().stream().map(PitchcastOutputTest::tree).toList());
        result.put("dead_letters", this.deadLetters.letters().stream().map(PitchcastOutputTest::tree).toList());
        result.put("poison", this.poisonRecords.poisons().stream().map(PitchcastOutputTest::tree).toList());
        result.put("shown", this.feed.shown());
        result.put("commentary_received", this.feed.commentaryReceived());
        result.put("lines_received", this.feed.linesReceived());
        result.put("redelivered", this.feed.redelivered());
        JSON.writerWithDefaultPrettyPrinter().writeValue(file, result);
    }

    /** A mapped record written back as JSON by the same snake_case mapper, as plain values. */
    private static Object tree(Object record) {
        return JSON.readValue(SnakeCaseJsonDeserializer.mapper().writeValueAsBytes(record), Object.class);
    }

    private static Map<String, Object> readPlan() {
        return map(JSON.readValue(new File(System.getProperty("pitchcast.expected")), Map.class));
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> map(Object value) {
        return (Map<String, Object>) value;
    }

}
