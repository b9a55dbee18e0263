-- The store of pitchcast's commentary (H2 here; PostgreSQL: see README.md). Run at start-up
-- (spring.sql.init.mode); IF NOT EXISTS makes that harmless on a database that has them.

-- One row per batch (commentary_id), created by its first line or by its record, whichever
-- comes first: the two topics are not ordered with respect to each other.
CREATE TABLE IF NOT EXISTS commentary_batch (
    commentary_id        UUID         NOT NULL PRIMARY KEY,
    game_id              BIGINT       NOT NULL,
    batch_index          INTEGER      NOT NULL,
    persona              VARCHAR(16)  NOT NULL,
    -- TRUE once the batch's record arrived: its items are then final, lines change nothing.
    complete             BOOLEAN      NOT NULL,
    -- The line_index of the line marked final, once that line was seen (it may never be).
    final_line_index     INTEGER,
    -- From the record (NULL until it arrives).
    period_id            INTEGER,
    first_action_id      BIGINT,
    last_action_id       BIGINT,
    close_reason         VARCHAR(32),
    score_home           INTEGER,
    score_away           INTEGER,
    source               VARCHAR(16),
    fallback_reason      VARCHAR(64),
    model                VARCHAR(128),
    prompt_tokens        INTEGER,
    completion_tokens    INTEGER,
    cached_prompt_tokens INTEGER,
    created_at           TIMESTAMP WITH TIME ZONE
);

-- One row per item of a batch, keyed like a line (commentary_id, line_index = item_index).
-- Written by lines until the record arrives, then by the record only. An item need not
-- have a line: a record may hold items no line was ever published for.
CREATE TABLE IF NOT EXISTS commentary_item (
    commentary_id UUID             NOT NULL REFERENCES commentary_batch (commentary_id),
    item_index    INTEGER          NOT NULL,
    action_id     BIGINT           NOT NULL,
    time_seconds  DOUBLE PRECISION NOT NULL,
    tone          VARCHAR(16)      NOT NULL,
    description   VARCHAR(2000)    NOT NULL,
    -- Density (pitchcast 0.3): FALSE for an action told with another item's line (its
    -- description is empty; told_with names that item's action), absent = shown.
    shown         BOOLEAN          DEFAULT TRUE NOT NULL,
    told_with     BIGINT,
    PRIMARY KEY (commentary_id, item_index)
);
-- A database created before pitchcast 0.3 gains the two columns.
ALTER TABLE commentary_item ADD COLUMN IF NOT EXISTS shown BOOLEAN DEFAULT TRUE NOT NULL;
ALTER TABLE commentary_item ADD COLUMN IF NOT EXISTS told_with BIGINT;

-- One row per line of the match's flow (source control, pitchcast 0.3: kick-off, start
-- of a period, half-time, end of a period, full time), keyed like a line (line_index 100:
-- before its batch's first action, 101: after its last). No item of the batch: the record
-- does not carry it, so it has a table of its own that the record never touches.
CREATE TABLE IF NOT EXISTS commentary_moment (
    commentary_id UUID                     NOT NULL,
    line_index    INTEGER                  NOT NULL,
    game_id       BIGINT                   NOT NULL,
    batch_index   INTEGER                  NOT NULL,
    persona       VARCHAR(16)              NOT NULL,
    -- The action the line stands beside.
    action_id     BIGINT                   NOT NULL,
    time_seconds  DOUBLE PRECISION         NOT NULL,
    tone          VARCHAR(16)              NOT NULL,
    description   VARCHAR(2000)            NOT NULL,
    created_at    TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (commentary_id, line_index)
);
