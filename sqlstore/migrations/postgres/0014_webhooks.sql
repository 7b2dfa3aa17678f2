-- Webhooks (contract §9, issue 14): endpoints, the transactional outbox
-- of events, and one delivery row per (endpoint, event).
--
-- secrets is one sealed value (§10): the JSON list of the endpoint's live
-- whsec_ secrets, newest first, each with the time it stops signing.
CREATE TABLE webhooks (
    id              TEXT PRIMARY KEY,
    url             TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    events          TEXT NOT NULL,
    secrets         TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    disabled_at     BIGINT,
    disabled_reason TEXT NOT NULL DEFAULT '',
    failing_since   BIGINT
);

-- One row per event type an endpoint takes ('*' for all), so that the
-- fan-out inside the change's transaction is one indexed INSERT … SELECT.
CREATE TABLE webhook_subscriptions (
    type       TEXT NOT NULL,
    webhook_id TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    PRIMARY KEY (type, webhook_id)
);

-- The outbox: written in the transaction of the change it describes.
-- subject (a user or org id) orders one subject's events within an
-- endpoint; payload is the exact body sent.
CREATE TABLE events (
    seq        BIGSERIAL PRIMARY KEY,
    id         TEXT NOT NULL UNIQUE,
    type       TEXT NOT NULL,
    subject    TEXT NOT NULL,
    payload    TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX events_created ON events (created_at);

-- status: pending, delivered or failed. A worker claims a pending row by
-- writing claim (its own random token) and claimed_until; only the holder
-- of the claim may record the attempt's outcome.
CREATE TABLE webhook_deliveries (
    seq             BIGSERIAL PRIMARY KEY,
    webhook_id      TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    event_id        TEXT NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    type            TEXT NOT NULL,
    subject         TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    claim           TEXT NOT NULL DEFAULT '',
    claimed_until   BIGINT NOT NULL DEFAULT 0,
    response_status INTEGER NOT NULL DEFAULT 0,
    error           TEXT NOT NULL DEFAULT '',
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    UNIQUE (webhook_id, event_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at, seq) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_order ON webhook_deliveries (webhook_id, subject, seq) WHERE status = 'pending' AND attempts = 0;
CREATE INDEX webhook_deliveries_list ON webhook_deliveries (webhook_id, seq);
CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_id);
