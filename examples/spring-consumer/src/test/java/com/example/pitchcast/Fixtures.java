package com.example.pitchcast;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import tools.jackson.databind.json.JsonMapper;

/**
 * Records pitchcast's real worker published, exported by {@code scripts/export-spring-fixtures}
 * (src/test/resources/fixtures/, one JSON line per record: key, headers, value as the exact
 * text on the topic): 6 commentary records (3 batches in CASTER and FRIEND), their 16 lines
 * (story density: 6 action lines and 2 kick-off / end-of-period lines a persona), and 2 dead
 * letters.
 */
final class Fixtures {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    /** One record as it was on its topic. */
    record Fixture(String key, List<Header> headers, byte[] value) {

        /** The value as plain JSON values (maps, lists, strings, numbers). */
        Map<String, Object> json() {
            return map(JSON.readValue(this.value, Map.class));
        }

        String commentaryId() {
            return (String) json().get("commentary_id");
        }

        /** A copy with other value bytes (a crafted variant of a real record). */
        Fixture withValue(byte[] value) {
            return new Fixture(this.key, this.headers, value);
        }

        Fixture withJson(Map<String, Object> json) {
            return withValue(JSON.writeValueAsBytes(json));
        }

        Fixture withHeader(String name, String value) {
            List<Header> headers = new ArrayList<>();
            for (Header header : this.headers) {
                if (!header.key().equals(name)) {
                    headers.add(header);
                }
            }
            headers.add(new RecordHeader(name, value.getBytes(StandardCharsets.UTF_8)));
            return new Fixture(this.key, headers, this.value);
        }

    }

    static final List<Fixture> COMMENTARY = load("commentary.jsonl");

    static final List<Fixture> LINES = load("commentary-lines.jsonl");

    static final List<Fixture> DEAD_LETTERS = load("commentary-dlq.jsonl");

    private Fixtures() {
    }

    private static List<Fixture> load(String name) {
        List<Fixture> out = new ArrayList<>();
        try (InputStream in = Fixtures.class.getResourceAsStream("/fixtures/" + name)) {
            String text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            for (String line : text.split("\n")) {
                if (line.isBlank()) {
                    continue;
                }
                Map<String, Object> entry = map(JSON.readValue(line, Map.class));
                List<Header> headers = new ArrayList<>();
                for (Object pair : (List<?>) entry.get("headers")) {
                    List<?> nameValue = (List<?>) pair;
                    headers.add(new RecordHeader((String) nameValue.get(0),
                            ((String) nameValue.get(1)).getBytes(StandardCharsets.UTF_8)));
                }
                out.add(new Fixture((String) entry.get("key"), List.copyOf(headers),
                        ((String) entry.get("value")).getBytes(StandardCharsets.UTF_8)));
            }
        }
        catch (IOException ex) {
            throw new IllegalStateException("cannot read fixture " + name, ex);
        }
        if (out.isEmpty()) {
            throw new IllegalStateException("fixture " + name + " is empty: run scripts/export-spring-fixtures");
        }
        return List.copyOf(out);
    }

    /** The lines of one batch, in line order. */
    static List<Fixture> linesOf(String commentaryId) {
        return LINES.stream()
            .filter((line) -> line.commentaryId().equals(commentaryId))
            .sorted((a, b) -> Integer.compare(lineIndex(a), lineIndex(b)))
            .toList();
    }

    static int lineIndex(Fixture line) {
        return ((Number) line.json().get("line_index")).intValue();
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> map(Object value) {
        return (Map<String, Object>) value;
    }

}
