package com.example.pitchcast;

import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;

import com.example.pitchcast.messages.Commentary;
import com.example.pitchcast.messages.CommentaryLine;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.springframework.stereotype.Component;

/**
 * What the backend shows: commentary upserted by {@code commentary_id}, lines by their line
 * id ({@code commentary_id:line_index}).
 *
 * <p>Kafka delivers at least once and pitchcast may publish a batch again after a crash,
 * always with the same id; an upsert makes a redelivered record replace the one already
 * held instead of being shown a second time. A real backend does the same with its
 * database ({@code INSERT ... ON CONFLICT (commentary_id) DO UPDATE}); this example keeps
 * the records in memory.
 */
@Component
public class CommentaryFeed {

    private static final Logger log = LoggerFactory.getLogger(CommentaryFeed.class);

    private final Map<UUID, Commentary> commentary = new ConcurrentHashMap<>();

    private final Map<String, CommentaryLine> lines = new ConcurrentHashMap<>();

    private final List<String> shown = new CopyOnWriteArrayList<>();

    private final AtomicLong commentaryReceived = new AtomicLong();

    private final AtomicLong linesReceived = new AtomicLong();

    private final AtomicLong redelivered = new AtomicLong();

    /** Upserts one batch's commentary; true when it is new and was shown. */
    public boolean upsert(Commentary record) {
        this.commentaryReceived.incrementAndGet();
        Commentary previous = this.commentary.put(record.commentaryId(), record);
        if (previous != null) {
            this.redelivered.incrementAndGet();
            log.info("pitchcast.consumer.redelivered commentary_id={}", record.commentaryId());
            return false;
        }
        this.shown.add(record.commentaryId().toString());
        log.info("pitchcast.consumer.commentary game_id={} batch_index={} persona={} items={} source={}",
                record.gameId(), record.batchIndex(), record.persona(), record.items().size(), record.source());
        return true;
    }

    /** Upserts one line; true when it is new and was shown. */
    public boolean upsert(CommentaryLine line) {
        this.linesReceived.incrementAndGet();
        CommentaryLine previous = this.lines.put(line.lineId(), line);
        if (previous != null) {
            this.redelivered.incrementAndGet();
            log.info("pitchcast.consumer.redelivered line_id={}", line.lineId());
            return false;
        }
        this.shown.add(line.lineId());
        log.debug("pitchcast.consumer.line line_id={} tone={}", line.lineId(), line.item().tone());
        return true;
    }

    public Map<UUID, Commentary> commentary() {
        return Map.copyOf(this.commentary);
    }

    public Map<String, CommentaryLine> lines() {
        return Map.copyOf(this.lines);
    }

    /** Ids in the order they were first shown (commentary ids and line ids). */
    public List<String> shown() {
        return List.copyOf(this.shown);
    }

    public long commentaryReceived() {
        return this.commentaryReceived.get();
    }

    public long linesReceived() {
        return this.linesReceived.get();
    }

    /** Records that carried an id already held: replaced, not shown again. */
    public long redelivered() {
        return this.redelivered.get();
    }

}
