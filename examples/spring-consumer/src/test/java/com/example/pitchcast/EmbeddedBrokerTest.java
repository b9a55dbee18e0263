package com.example.pitchcast;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

import com.example.pitchcast.CommentaryStore.StoredBatch;
import com.example.pitchcast.CommentaryStore.StoredItem;
import com.example.pitchcast.Fixtures.Fixture;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.Header;
import org.h2.tools.Server;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.kafka.support.KafkaHeaders;
import org.springframework.kafka.test.EmbeddedKafkaBroker;
import org.springframework.kafka.test.context.EmbeddedKafka;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The whole application on spring-kafka-test's embedded broker (KRaft, in this JVM: the only
 * mode of spring-kafka-test 4.0, so {@code @EmbeddedKafka} has no {@code kraft} switch) and
 * a real H2 database served over TCP, fed with records pitchcast's real worker published
 * ({@link Fixtures}).
 *
 * <p>The database is an H2 server this test stops and starts again, on the same port and
 * files, to play a database restart. The back-off is shortened (0.25 s doubling to 1 s, 5 s
 * in all) so that running out of it takes seconds, not the 5 minutes of application.yml
 * ({@link RetryBackOffTest} checks those). Each test starts from an empty store and ends
 * when the consumer group has committed every record on the three topics.
 */
@SpringBootTest(properties = { "spring.main.banner-mode=off", "spring.kafka.consumer.group-id=" + EmbeddedBrokerTest.GROUP,
        "pitchcast.retry.initial-interval=250ms", "pitchcast.retry.max-interval=1s", "pitchcast.retry.max-elapsed=5s",
        "pitchcast.dead-letter.partitions=1", "spring.datasource.hikari.connection-timeout=250",
        "spring.datasource.hikari.validation-timeout=250", "logging.level.org.apache.kafka=warn",
        "logging.level.kafka=warn", "logging.level.state.change.logger=warn",
        "logging.level.org.springframework.kafka.listener=warn",
        // The embedded broker's topics, whatever PITCHCAST_TOPIC_* the shell exports.
        "pitchcast.topics.commentary=commentary", "pitchcast.topics.lines=commentary-lines",
        "pitchcast.topics.dlq=commentary-dlq" })
@EmbeddedKafka(partitions = 3, topics = { "commentary", "commentary-lines", "commentary-dlq" },
        bootstrapServersProperty = "spring.kafka.bootstrap-servers",
        brokerProperties = "group.initial.rebalance.delay.ms=0")
@ExtendWith(OutputCaptureExtension.class)
class EmbeddedBrokerTest {

    static final String GROUP = "embedded-broker-test";

    private static final Set<String> TOPICS = Set.of("commentary", "commentary-lines", "commentary-dlq");

    private static final Duration CONSUMED = Duration.ofSeconds(30);

    private static Path databaseDir;

    private static int databasePort;

    private static Server database;

    @Autowired
    private EmbeddedKafkaBroker broker;

    @Autowired
    private CommentaryStore store;

    @Autowired
    private DeadLetterLog deadLetterLog;

    @Autowired
    private JdbcTemplate jdbc;

    private KafkaProbe kafka;

    /** Records on the two dead-letter topics before each test. */
    private long deadLettersBefore;

    @DynamicPropertySource
    static void database(DynamicPropertyRegistry registry) throws IOException, SQLException {
        databaseDir = Files.createTempDirectory("pitchcast-h2");
        try (ServerSocket socket = new ServerSocket(0)) {
            databasePort = socket.getLocalPort();
        }
        startDatabase();
        registry.add("spring.datasource.url", () -> "jdbc:h2:tcp://127.0.0.1:" + databasePort + "/pitchcast");
    }

    private static void startDatabase() throws SQLException {
        database = Server.createTcpServer("-tcpPort", String.valueOf(databasePort), "-baseDir", databaseDir.toString(),
                "-ifNotExists").start();
    }

    @AfterAll
    static void stopDatabase() {
        database.stop();
    }

    @BeforeEach
    void emptyStore() throws Exception {
        this.kafka = new KafkaProbe(this.broker.getBrokersAsString());
        this.jdbc.update("DELETE FROM commentary_moment");
        this.jdbc.update("DELETE FROM commentary_item");
        this.jdbc.update("DELETE FROM commentary_batch");
        this.deadLettersBefore = deadLetters();
    }

    @AfterEach
    void closeProbe() {
        this.kafka.close();
    }

    @Test
    void storesEveryBatchAsItsRecordSaysAndRedeliveriesChangeNothing() throws Exception {
        long lettersBefore = this.deadLetterLog.letters().size();
        // Lines before records, as pitchcast writes them (the redeliveries below come in any order).
        this.kafka.send("commentary-lines", Fixtures.LINES);
        this.kafka.awaitConsumed(GROUP, TOPICS, CONSUMED);
        this.kafka.send("commentary", Fixtures.COMMENTARY);
        this.kafka.send("commentary-dlq", Fixtures.DEAD_LETTERS);
        this.kafka.awaitConsumed(GROUP, TOPICS, CONSUMED);

        assertStoredAsRecords(Fixtures.COMMENTARY);
        assertThat(this.store.batches()).hasSize(Fixtures.COMMENTARY.size());
        assertMomentsStored();
        for (Fixture record : Fixtures.COMMENTARY) {
            StoredBatch batch = this.store.batch(UUID.fromString(record.commentaryId())).orElseThrow();
            Fixture lastLine = last(actionLines(record.commentaryId()));
            // A batch whose last action is told with an earlier line (density) has no final line.
            Integer finalLine = Boolean.TRUE.equals(lastLine.json().get("final")) ? Fixtures.lineIndex(lastLine) : null;
            assertThat(batch.finalLineIndex()).as("the line marked final was seen").isEqualTo(finalLine);
            assertThat(batch.source()).isEqualTo(record.json().get("source"));
        }
        List<String> letterHashes = this.deadLetterLog.letters()
            .stream()
            .skip(lettersBefore)
            .map((letter) -> letter.valueSha256())
            .toList();
        assertThat(letterHashes).containsExactlyElementsOf(
                Fixtures.DEAD_LETTERS.stream().map((f) -> (String) f.json().get("value_sha256")).toList());

        // Every record delivered again, the two topics racing each other: the same rows.
        Map<String, Object> before = snapshot();
        sendAll();
        this.kafka.awaitConsumed(GROUP, TOPICS, CONSUMED);
        assertThat(snapshot()).isEqualTo(before);
        assertNoDeadLetters();
    }

    @Test
    void unreadableRecordsGoStraightToTheDeadLetterTopicAndTheRecordsAfterThemAreStored(CapturedOutput output)
            throws Exception {
        Fixture record = Fixtures.COMMENTARY.get(0);
        Fixture line = Fixtures.linesOf(Fixtures.COMMENTARY.get(1).commentaryId()).get(0);
        Map<String, Object> noItems = new LinkedHashMap<>(record.json());
        noItems.remove("items");
        List<Fixture> badCommentary = List.of(
                record.withValue("{not json".getBytes(StandardCharsets.UTF_8)),
                record.withHeader("__TypeId__", "com.example.evil.Gadget"),
                record.withHeader("__TypeId__", "commentary_line"),
                record.withJson(noItems));
        Map<String, Object> wrongShape = Map.of("commentary_id", "x", "line_index", "three", "item", List.of());
        List<Fixture> badLines = List.of(line.withJson(new HashMap<>(wrongShape)));
        this.kafka.send("commentary", badCommentary);
        this.kafka.send("commentary", record);
        this.kafka.send("commentary-lines", badLines);
        this.kafka.send("commentary-lines", line);
        this.kafka.awaitConsumed(GROUP, TOPICS, CONSUMED);

        assertStoredAsRecords(List.of(record));
        assertThat(this.store.items(UUID.fromString(line.commentaryId()))).hasSize(1);
        List<ConsumerRecord<String, byte[]>> commentaryDlt = this.kafka.readAll("commentary-dlt",
                (int) this.kafka.count("commentary-dlt"), CONSUMED);
        List<ConsumerRecord<String, byte[]>> linesDlt = this.kafka.readAll("commentary-lines-dlt",
                (int) this.kafka.count("commentary-lines-dlt"), CONSUMED);
        linesDlt = linesDlt.subList(linesDlt.size() - badLines.size(), linesDlt.size());
        assertThat(deadLetters()).isEqualTo(this.deadLettersBefore + badCommentary.size() + badLines.size());
        commentaryDlt = commentaryDlt.subList(commentaryDlt.size() - badCommentary.size(), commentaryDlt.size());
        assertDeadLettered(commentaryDlt, badCommentary, "commentary");
        assertDeadLettered(linesDlt, badLines, "commentary-lines");
        // Not retried: each record's back-off (0.25 s doubling to 1 s, 5 s in all in this test)
        // would put at least 4.75 s between one dead letter and the next.
        for (int i = 1; i < commentaryDlt.size(); i++) {
            long gap = commentaryDlt.get(i).timestamp() - commentaryDlt.get(i - 1).timestamp();
            assertThat(gap).as("ms between dead letters %d and %d", i - 1, i).isLessThan(4000);
        }
        for (ConsumerRecord<String, byte[]> unreadable : List.of(commentaryDlt.get(0), commentaryDlt.get(1), linesDlt.get(0))) {
            assertThat(header(unreadable, KafkaHeaders.DLT_EXCEPTION_FQCN)).endsWith(".DeserializationException");
        }
        assertThat(header(commentaryDlt.get(3), KafkaHeaders.DLT_EXCEPTION_CAUSE_FQCN))
            .isEqualTo(InvalidMessageException.class.getName());
        // Each one logged where alerting sees it, with where it came from and why.
        List<ConsumerRecord<String, byte[]>> letters = new ArrayList<>(commentaryDlt);
        letters.addAll(linesDlt);
        for (ConsumerRecord<String, byte[]> letter : letters) {
            String topic = header(letter, KafkaHeaders.DLT_ORIGINAL_TOPIC);
            int partition = ByteBuffer.wrap(letter.headers().lastHeader(KafkaHeaders.DLT_ORIGINAL_PARTITION).value())
                .getInt();
            long offset = ByteBuffer.wrap(letter.headers().lastHeader(KafkaHeaders.DLT_ORIGINAL_OFFSET).value()).getLong();
            assertThat(output).contains("ERROR").contains("pitchcast.consumer.dead_lettered topic=" + topic + " partition="
                    + partition + " offset=" + offset + " key=" + letter.key() + " to=" + topic + "-dlt: ");
        }
        assertThat(output).contains(InvalidMessageException.class.getName() + ": commentary without items");
    }

    @Test
    void aDatabaseDownForAFewSecondsLosesNothing(CapturedOutput output) throws Exception {
        database.stop();
        try {
            sendAll();
            Thread.sleep(3000);
            assertNoDeadLetters();
        }
        finally {
            startDatabase();
        }
        awaitDatabase();
        this.kafka.awaitConsumed(GROUP, TOPICS, CONSUMED);
        assertStoredAsRecords(Fixtures.COMMENTARY);
        assertNoDeadLetters();
        // Each retry says why (Spring Kafka alone logs only that a record is in retry).
        assertThat(output).contains("WARN").containsPattern(
                "pitchcast\\.consumer\\.delivery_failed topic=commentary(-lines)? partition=\\d+ offset=\\d+ key=\\d+ "
                        + "attempt=2: \\S+Exception: ")
            .doesNotContain("pitchcast.consumer.dead_lettered");
    }

    @Test
    void aRecordCompletesABatchWhoseLastLineNeverCameAndLateLinesChangeNothing() throws Exception {
        Fixture record = Fixtures.COMMENTARY.get(0);
        UUID id = UUID.fromString(record.commentaryId());
        List<Fixture> lines = actionLines(record.commentaryId());
        Fixture lastLine = last(lines);
        this.kafka.send("commentary-lines", lines.subList(0, lines.size() - 1));
        this.kafka.awaitConsumed(GROUP, TOPICS, CONSUMED);
        assertThat(this.store.batch(id).orElseThrow().complete()).isFalse();
        assertThat(this.store.items(id)).hasSize(lines.size() - 1);

        this.kafka.send("commentary", record);
        this.kafka.awaitConsumed(GROUP, TOPICS, CONSUMED);
        assertStoredAsRecords(List.of(record));
        assertThat(this.store.batch(id).orElseThrow().finalLineIndex()).isNull();

        // After the record: the missing line, another text for a line, a line the record has not.
        Map<String, Object> rewritten = lastLine.json();
        item(rewritten).put("description", "a line written after its record");
        Map<String, Object> extra = lastLine.json();
        extra.put("line_index", ((List<?>) record.json().get("items")).size());
        this.kafka.send("commentary-lines", List.of(lastLine, lastLine.withJson(rewritten), lastLine.withJson(extra)));
        // A batch whose record comes first and all of its lines after.
        Fixture recordFirst = last(Fixtures.COMMENTARY);
        this.kafka.send("commentary", recordFirst);
        this.kafka.awaitConsumed(GROUP, TOPICS, CONSUMED);
        this.kafka.send("commentary-lines", Fixtures.linesOf(recordFirst.commentaryId()));
        this.kafka.awaitConsumed(GROUP, TOPICS, CONSUMED);

        assertStoredAsRecords(List.of(record, recordFirst));
        assertNoDeadLetters();
    }

    @Test
    void aDatabaseDownLongerThanTheBackOffDeadLettersTheRecordForAReplay() throws Exception {
        Fixture record = Fixtures.COMMENTARY.get(2);
        long before = this.kafka.count("commentary-dlt");
        database.stop();
        List<ConsumerRecord<String, byte[]>> dlt;
        try {
            this.kafka.send("commentary", record);
            dlt = this.kafka.readAll("commentary-dlt", (int) before + 1, Duration.ofSeconds(30));
        }
        finally {
            startDatabase();
        }
        awaitDatabase();
        this.kafka.awaitConsumed(GROUP, TOPICS, CONSUMED);
        assertThat(dlt).hasSize((int) before + 1);
        ConsumerRecord<String, byte[]> letter = last(dlt);
        assertThat(this.store.batch(UUID.fromString(record.commentaryId()))).isEmpty();
        // The record as the consumer read it, with its own headers: replayable as it is.
        assertThat(SameJson.differences(record.json(), Fixtures.map(jsonOf(letter.value())))).isEmpty();
        assertThat(letter.key()).isEqualTo(record.key());
        assertThat(header(letter, "__TypeId__")).isEqualTo("commentary");
        assertThat(header(letter, KafkaHeaders.DLT_ORIGINAL_TOPIC)).isEqualTo("commentary");
        assertThat(header(letter, KafkaHeaders.DLT_EXCEPTION_FQCN)).contains("ListenerExecutionFailedException");
        assertThat(header(letter, KafkaHeaders.DLT_EXCEPTION_CAUSE_FQCN)).startsWith("org.springframework");

        // The replay once the database is back: the dead letter, without Spring's kafka_dlt-* headers.
        List<Header> headers = new ArrayList<>();
        letter.headers().forEach((h) -> {
            if (!h.key().startsWith("kafka_dlt")) {
                headers.add(h);
            }
        });
        this.kafka.send("commentary", new Fixture(letter.key(), headers, letter.value()));
        this.kafka.awaitConsumed(GROUP, TOPICS, CONSUMED);
        assertStoredAsRecords(List.of(record));
    }

    /** Waits until the pool reaches the restarted database again (the test's own reads need it). */
    private void awaitDatabase() throws InterruptedException {
        for (int attempt = 0; attempt < 100; attempt++) {
            try {
                this.jdbc.queryForObject("SELECT 1", Integer.class);
                return;
            }
            catch (org.springframework.dao.DataAccessException ex) {
                Thread.sleep(100);
            }
        }
        throw new AssertionError("the database did not come back");
    }

    private void sendAll() throws Exception {
        this.kafka.send("commentary-lines", Fixtures.LINES);
        this.kafka.send("commentary", Fixtures.COMMENTARY);
        this.kafka.send("commentary-dlq", Fixtures.DEAD_LETTERS);
    }

    /** Each record's batch is complete and holds exactly the record's items, in order. */
    private void assertStoredAsRecords(List<Fixture> records) {
        for (Fixture record : records) {
            Map<String, Object> json = record.json();
            UUID id = UUID.fromString(record.commentaryId());
            StoredBatch batch = this.store.batch(id).orElseThrow(() -> new AssertionError("batch " + id + " not stored"));
            assertThat(batch.complete()).as("batch %s complete", id).isTrue();
            assertThat(batch.persona()).isEqualTo(json.get("persona"));
            assertThat(batch.batchIndex()).isEqualTo(((Number) json.get("batch_index")).intValue());
            assertThat(batch.closeReason()).isEqualTo(json.get("close_reason"));
            List<Map<String, Object>> expected = new ArrayList<>();
            List<?> items = (List<?>) json.get("items");
            for (int index = 0; index < items.size(); index++) {
                Map<String, Object> item = Fixtures.map(items.get(index));
                Map<String, Object> want = new LinkedHashMap<>();
                want.put("index", index);
                want.put("action_id", ((Number) item.get("action_id")).longValue());
                want.put("time_seconds", ((Number) item.get("time_seconds")).doubleValue());
                want.put("tone", item.get("tone"));
                want.put("description", item.get("description"));
                // Absent means shown (records before pitchcast 0.3).
                want.put("shown", !Boolean.FALSE.equals(item.get("shown")));
                Object toldWith = item.get("told_with");
                want.put("told_with", toldWith == null ? null : ((Number) toldWith).longValue());
                expected.add(want);
            }
            assertThat(this.store.items(id).stream().map(EmbeddedBrokerTest::asMap).toList())
                .as("items of batch %s", id)
                .isEqualTo(expected);
        }
    }

    /**
     * Every kick-off and half-time line of the fixtures (source control) is stored as a
     * moment with its text, though its batch's record (which does not carry it) arrived after it.
     */
    private void assertMomentsStored() {
        List<Map<String, Object>> expected = new ArrayList<>();
        for (Fixture line : Fixtures.LINES) {
            Map<String, Object> json = line.json();
            if (!"control".equals(json.get("source"))) {
                continue;
            }
            Map<String, Object> item = Fixtures.map(json.get("item"));
            Map<String, Object> want = new LinkedHashMap<>();
            want.put("commentary_id", json.get("commentary_id"));
            want.put("line_index", ((Number) json.get("line_index")).intValue());
            want.put("persona", json.get("persona"));
            want.put("action_id", ((Number) item.get("action_id")).longValue());
            want.put("tone", item.get("tone"));
            want.put("description", item.get("description"));
            expected.add(want);
        }
        assertThat(expected).as("the fixtures' kick-off and half-time lines").isNotEmpty();
        List<Map<String, Object>> stored = new ArrayList<>();
        for (CommentaryStore.StoredMoment moment : this.store.moments(1)) {
            Map<String, Object> got = new LinkedHashMap<>();
            got.put("commentary_id", moment.commentaryId().toString());
            got.put("line_index", moment.lineIndex());
            got.put("persona", moment.persona());
            got.put("action_id", moment.actionId());
            got.put("tone", moment.tone());
            got.put("description", moment.description());
            stored.add(got);
        }
        assertThat(stored).as("the lines of the match's flow").containsExactlyInAnyOrderElementsOf(expected);
    }

    /** A batch's lines of actions (not its kick-off or half-time lines: no item). */
    private static List<Fixture> actionLines(String commentaryId) {
        return Fixtures.linesOf(commentaryId)
            .stream()
            .filter((line) -> !"control".equals(line.json().get("source")))
            .toList();
    }

    private static Map<String, Object> asMap(StoredItem item) {
        Map<String, Object> map = new LinkedHashMap<>();
        map.put("index", item.index());
        map.put("action_id", item.actionId());
        map.put("time_seconds", item.timeSeconds());
        map.put("tone", item.tone());
        map.put("description", item.description());
        map.put("shown", item.shown());
        map.put("told_with", item.toldWith());
        return map;
    }

    private void assertNoDeadLetters() throws Exception {
        assertThat(deadLetters()).as("records on the dead-letter topics").isEqualTo(this.deadLettersBefore);
    }

    private long deadLetters() throws Exception {
        return this.kafka.count("commentary-dlt") + this.kafka.count("commentary-lines-dlt")
                + this.kafka.count("commentary-dlq-dlt");
    }

    private Map<String, Object> snapshot() {
        Map<String, Object> out = new LinkedHashMap<>();
        for (StoredBatch batch : this.store.batches()) {
            out.put(batch.commentaryId().toString(), List.of(batch, this.store.items(batch.commentaryId())));
        }
        out.put("moments", this.store.moments(1));
        return out;
    }

    private static void assertDeadLettered(List<ConsumerRecord<String, byte[]>> dlt, List<Fixture> sent, String topic) {
        List<ConsumerRecord<String, byte[]>> letters = dlt.subList(dlt.size() - sent.size(), dlt.size());
        for (int i = 0; i < sent.size(); i++) {
            ConsumerRecord<String, byte[]> letter = letters.get(i);
            Fixture original = sent.get(i);
            assertThat(letter.key()).isEqualTo(original.key());
            assertThat(header(letter, KafkaHeaders.DLT_ORIGINAL_TOPIC)).isEqualTo(topic);
            assertThat(header(letter, "__TypeId__")).isEqualTo(headerValue(original.headers(), "__TypeId__"));
            if (String.valueOf(header(letter, KafkaHeaders.DLT_EXCEPTION_FQCN)).endsWith("DeserializationException")) {
                assertThat(letter.value()).as("the original bytes").isEqualTo(original.value());
            }
        }
    }

    private static String header(ConsumerRecord<?, ?> record, String name) {
        Header header = record.headers().lastHeader(name);
        return header == null ? null : new String(header.value(), StandardCharsets.UTF_8);
    }

    private static String headerValue(List<Header> headers, String name) {
        return headers.stream()
            .filter((h) -> h.key().equals(name))
            .map((h) -> new String(h.value(), StandardCharsets.UTF_8))
            .reduce((a, b) -> b)
            .orElse(null);
    }

    private static <T> T last(List<T> list) {
        return list.get(list.size() - 1);
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> item(Map<String, Object> line) {
        return (Map<String, Object>) line.get("item");
    }

    private static Object jsonOf(byte[] value) {
        return tools.jackson.databind.json.JsonMapper.builder().build().readValue(value, Map.class);
    }

}
