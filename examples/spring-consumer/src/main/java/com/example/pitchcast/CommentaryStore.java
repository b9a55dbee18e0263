package com.example.pitchcast;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

import com.example.pitchcast.messages.Commentary;
import com.example.pitchcast.messages.CommentaryItem;
import com.example.pitchcast.messages.CommentaryLine;

import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Repository;
import org.springframework.transaction.annotation.Transactional;

/**
 * What the backend shows, in one database: each batch ({@code commentary_batch}, by
 * {@code commentary_id}) and its items ({@code commentary_item}, by {@code commentary_id}
 * and line index), merged from pitchcast's two topics.
 *
 * <ul>
 * <li>A line is shown as soon as it arrives: it creates the batch row if needed and upserts
 * its item.</li>
 * <li>The record is the batch's authoritative content: it fills the batch row, marks it
 * complete, writes every item (so it completes a batch whose last lines never came) and
 * deletes any item it does not have.</li>
 * <li>A line of a complete batch changes nothing: the topics are not ordered with respect
 * to each other, so a line may arrive after its record, and must neither overwrite the
 * record's text nor bring back an item the record does not have.</li>
 * <li>Each item keeps pitchcast's {@code shown} and {@code told_with} (density): an item not
 * shown has no line and an empty description; a display lists only shown items.</li>
 * <li>Every write is an upsert, so a redelivered line or record (Kafka delivers at least
 * once; pitchcast may publish a batch again after a crash, with the same ids) leaves the
 * same rows.</li>
 * </ul>
 *
 * <p>A line and its record may be handled at the same moment by the two listener threads;
 * both lock the batch row first, so one waits for the other. When both insert a new batch
 * row at once, one fails with a duplicate key and is retried by the error handler (see
 * {@link KafkaConfig}), by then it finds the row.
 *
 * <p>The statements are standard SQL {@code MERGE}, which H2 and PostgreSQL 15+ both run;
 * README.md shows the PostgreSQL {@code INSERT ... ON CONFLICT} form.
 */
@Repository
public class CommentaryStore {

    /** A batch as stored; the record's fields are null until it arrived. */
    public record StoredBatch(UUID commentaryId, long gameId, int batchIndex, String persona, boolean complete,
            Integer finalLineIndex, String source, String closeReason) {
    }

    /** An item as stored. */
    public record StoredItem(int index, long actionId, double timeSeconds, String tone, String description,
            boolean shown, Long toldWith) {
    }

    /** A line of the match's flow (kick-off, half-time, full time) as stored. */
    public record StoredMoment(UUID commentaryId, int lineIndex, long gameId, int batchIndex, String persona,
            long actionId, double timeSeconds, String tone, String description) {
    }

    private static final String INSERT_BATCH_IF_ABSENT = """
            MERGE INTO commentary_batch b
            USING (SELECT CAST(? AS UUID) AS commentary_id, CAST(? AS BIGINT) AS game_id,
                          CAST(? AS INTEGER) AS batch_index, CAST(? AS VARCHAR(16)) AS persona) s
            ON b.commentary_id = s.commentary_id
            WHEN NOT MATCHED THEN
                INSERT (commentary_id, game_id, batch_index, persona, complete)
                VALUES (s.commentary_id, s.game_id, s.batch_index, s.persona, FALSE)
            """;

    private static final String LOCK_BATCH = """
            SELECT complete FROM commentary_batch WHERE commentary_id = ? FOR UPDATE
            """;

    private static final String UPSERT_ITEM = """
            MERGE INTO commentary_item i
            USING (SELECT CAST(? AS UUID) AS commentary_id, CAST(? AS INTEGER) AS item_index,
                          CAST(? AS BIGINT) AS action_id, CAST(? AS DOUBLE PRECISION) AS time_seconds,
                          CAST(? AS VARCHAR(16)) AS tone, CAST(? AS VARCHAR(2000)) AS description,
                          CAST(? AS BOOLEAN) AS shown, CAST(? AS BIGINT) AS told_with) s
            ON i.commentary_id = s.commentary_id AND i.item_index = s.item_index
            WHEN MATCHED THEN
                UPDATE SET action_id = s.action_id, time_seconds = s.time_seconds, tone = s.tone,
                           description = s.description, shown = s.shown, told_with = s.told_with
            WHEN NOT MATCHED THEN
                INSERT (commentary_id, item_index, action_id, time_seconds, tone, description, shown, told_with)
                VALUES (s.commentary_id, s.item_index, s.action_id, s.time_seconds, s.tone, s.description, s.shown,
                        s.told_with)
            """;

    private static final String UPSERT_RECORD = """
            MERGE INTO commentary_batch b
            USING (SELECT CAST(? AS UUID) AS commentary_id, CAST(? AS BIGINT) AS game_id,
                          CAST(? AS INTEGER) AS batch_index, CAST(? AS VARCHAR(16)) AS persona,
                          CAST(? AS INTEGER) AS period_id, CAST(? AS BIGINT) AS first_action_id,
                          CAST(? AS BIGINT) AS last_action_id, CAST(? AS VARCHAR(32)) AS close_reason,
                          CAST(? AS INTEGER) AS score_home, CAST(? AS INTEGER) AS score_away,
                          CAST(? AS VARCHAR(16)) AS source, CAST(? AS VARCHAR(64)) AS fallback_reason,
                          CAST(? AS VARCHAR(128)) AS model, CAST(? AS INTEGER) AS prompt_tokens,
                          CAST(? AS INTEGER) AS completion_tokens, CAST(? AS INTEGER) AS cached_prompt_tokens,
                          CAST(? AS TIMESTAMP WITH TIME ZONE) AS created_at) s
            ON b.commentary_id = s.commentary_id
            WHEN MATCHED THEN
                UPDATE SET game_id = s.game_id, batch_index = s.batch_index, persona = s.persona, complete = TRUE,
                           period_id = s.period_id, first_action_id = s.first_action_id,
                           last_action_id = s.last_action_id, close_reason = s.close_reason,
                           score_home = s.score_home, score_away = s.score_away, source = s.source,
                           fallback_reason = s.fallback_reason, model = s.model, prompt_tokens = s.prompt_tokens,
                           completion_tokens = s.completion_tokens, cached_prompt_tokens = s.cached_prompt_tokens,
                           created_at = s.created_at
            WHEN NOT MATCHED THEN
                INSERT (commentary_id, game_id, batch_index, persona, complete, period_id, first_action_id,
                        last_action_id, close_reason, score_home, score_away, source, fallback_reason, model,
                        prompt_tokens, completion_tokens, cached_prompt_tokens, created_at)
                VALUES (s.commentary_id, s.game_id, s.batch_index, s.persona, TRUE, s.period_id,
                        s.first_action_id, s.last_action_id, s.close_reason, s.score_home, s.score_away, s.source,
                        s.fallback_reason, s.model, s.prompt_tokens, s.completion_tokens, s.cached_prompt_tokens,
                        s.created_at)
            """;

    private static final String UPSERT_MOMENT = """
            MERGE INTO commentary_moment m
            USING (SELECT CAST(? AS UUID) AS commentary_id, CAST(? AS INTEGER) AS line_index,
                          CAST(? AS BIGINT) AS game_id, CAST(? AS INTEGER) AS batch_index,
                          CAST(? AS VARCHAR(16)) AS persona, CAST(? AS BIGINT) AS action_id,
                          CAST(? AS DOUBLE PRECISION) AS time_seconds, CAST(? AS VARCHAR(16)) AS tone,
                          CAST(? AS VARCHAR(2000)) AS description,
                          CAST(? AS TIMESTAMP WITH TIME ZONE) AS created_at) s
            ON m.commentary_id = s.commentary_id AND m.line_index = s.line_index
            WHEN MATCHED THEN
                UPDATE SET game_id = s.game_id, batch_index = s.batch_index, persona = s.persona,
                           action_id = s.action_id, time_seconds = s.time_seconds, tone = s.tone,
                           description = s.description, created_at = s.created_at
            WHEN NOT MATCHED THEN
                INSERT (commentary_id, line_index, game_id, batch_index, persona, action_id, time_seconds, tone,
                        description, created_at)
                VALUES (s.commentary_id, s.line_index, s.game_id, s.batch_index, s.persona, s.action_id,
                        s.time_seconds, s.tone, s.description, s.created_at)
            """;

    private final JdbcClient jdbc;

    private final JdbcTemplate jdbcTemplate;

    public CommentaryStore(JdbcClient jdbc, JdbcTemplate jdbcTemplate) {
        this.jdbc = jdbc;
        this.jdbcTemplate = jdbcTemplate;
    }

    /**
     * Shows one line: upserts its item unless the batch's record already arrived. A line of
     * the match's flow (kick-off, half-time, full time: source {@code control}) is no item
     * of the batch, and the record never carries it: it is kept in {@code commentary_moment}
     * whatever the batch's state, so the record neither overwrites nor deletes it.
     *
     * @return false when the batch is complete and the line changed nothing
     */
    @Transactional
    public boolean saveLine(CommentaryLine line) {
        Messages.requireComplete(line);
        if (line.moment()) {
            CommentaryItem item = line.item();
            this.jdbc.sql(UPSERT_MOMENT)
                .params(line.commentaryId(), line.lineIndex(), line.gameId(), line.batchIndex(), line.persona(),
                        item.actionId(), item.timeSeconds(), item.tone(), item.description(),
                        line.createdAt().atOffset(ZoneOffset.UTC))
                .update();
            return true;
        }
        UUID id = line.commentaryId();
        this.jdbc.sql(INSERT_BATCH_IF_ABSENT).params(id, line.gameId(), line.batchIndex(), line.persona()).update();
        boolean complete = this.jdbc.sql(LOCK_BATCH).param(id).query(Boolean.class).single();
        if (complete) {
            return false;
        }
        CommentaryItem item = line.item();
        this.jdbc.sql(UPSERT_ITEM)
            .params(id, line.lineIndex(), item.actionId(), item.timeSeconds(), item.tone(), item.description(),
                    item.visible(), item.toldWith())
            .update();
        if (line.last()) {
            this.jdbc.sql("UPDATE commentary_batch SET final_line_index = ? WHERE commentary_id = ?")
                .params(line.lineIndex(), id)
                .update();
        }
        return true;
    }

    /** Stores one batch's record: the batch complete, its items exactly the record's. */
    @Transactional
    public void saveRecord(Commentary record) {
        Messages.requireComplete(record);
        UUID id = record.commentaryId();
        // The MERGE takes the batch row's lock first, as saveLine does (no deadlock).
        this.jdbc.sql(UPSERT_RECORD)
            .params(id, record.gameId(), record.batchIndex(), record.persona(), record.periodId(),
                    record.firstActionId(), record.lastActionId(), record.closeReason(), record.score().home(),
                    record.score().away(), record.source(), record.fallbackReason(), record.model(),
                    record.usage().promptTokens(), record.usage().completionTokens(),
                    record.usage().cachedPromptTokens(), record.createdAt().atOffset(ZoneOffset.UTC))
            .update();
        this.jdbc.sql("DELETE FROM commentary_item WHERE commentary_id = ? AND item_index >= ?")
            .params(id, record.items().size())
            .update();
        List<Object[]> rows = new ArrayList<>();
        for (int index = 0; index < record.items().size(); index++) {
            CommentaryItem item = record.items().get(index);
            rows.add(new Object[] { id, index, item.actionId(), item.timeSeconds(), item.tone(), item.description(),
                    item.visible(), item.toldWith() });
        }
        this.jdbcTemplate.batchUpdate(UPSERT_ITEM, rows);
    }

    public Optional<StoredBatch> batch(UUID commentaryId) {
        return this.jdbc.sql(SELECT_BATCH + " WHERE commentary_id = ?").param(commentaryId)
            .query(CommentaryStore::batchRow)
            .optional();
    }

    /** Every batch, by game, batch index and persona. */
    public List<StoredBatch> batches() {
        return this.jdbc.sql(SELECT_BATCH + " ORDER BY game_id, batch_index, persona")
            .query(CommentaryStore::batchRow)
            .list();
    }

    /** A batch's items in order (not its lines of the match's flow: {@link #moments}). */
    public List<StoredItem> items(UUID commentaryId) {
        return this.jdbc.sql("""
                SELECT item_index, action_id, time_seconds, tone, description, shown, told_with FROM commentary_item
                WHERE commentary_id = ? ORDER BY item_index
                """)
            .param(commentaryId)
            .query((rs, n) -> new StoredItem(rs.getInt(1), rs.getLong(2), rs.getDouble(3), rs.getString(4),
                    rs.getString(5), rs.getBoolean(6), rs.getObject(7, Long.class)))
            .list();
    }

    /** A match's lines of its flow, by batch, line index and persona. */
    public List<StoredMoment> moments(long gameId) {
        return this.jdbc.sql("""
                SELECT commentary_id, line_index, game_id, batch_index, persona, action_id, time_seconds, tone,
                       description
                FROM commentary_moment WHERE game_id = ? ORDER BY batch_index, line_index, persona
                """)
            .param(gameId)
            .query((rs, n) -> new StoredMoment(rs.getObject(1, UUID.class), rs.getInt(2), rs.getLong(3),
                    rs.getInt(4), rs.getString(5), rs.getLong(6), rs.getDouble(7), rs.getString(8), rs.getString(9)))
            .list();
    }

    private static final String SELECT_BATCH = """
            SELECT commentary_id, game_id, batch_index, persona, complete, final_line_index, source, close_reason
            FROM commentary_batch""";

    private static StoredBatch batchRow(ResultSet rs, int rowNum) throws SQLException {
        return new StoredBatch(rs.getObject(1, UUID.class), rs.getLong(2), rs.getInt(3), rs.getString(4),
                rs.getBoolean(5), rs.getObject(6, Integer.class), rs.getString(7), rs.getString(8));
    }

}
