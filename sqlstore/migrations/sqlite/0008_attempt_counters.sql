-- Attempt counters (contract §10): every credential-guessing limit is a
-- fixed-window count per key, kept in the database and bumped by one
-- atomic upsert per attempt, so N nodes together allow what one allows.
CREATE TABLE attempt_counters (
    name         TEXT PRIMARY KEY,
    window_start BIGINT NOT NULL,
    count        INTEGER NOT NULL
);
CREATE INDEX attempt_counters_window ON attempt_counters (window_start);
