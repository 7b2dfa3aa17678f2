-- Operators (contract §8, issue 13): admin keys, the instance role of
-- users, disabled accounts, and the indexes the admin lists page on.
-- An admin key is stored only as the SHA-256 of its secret; a revoked key
-- keeps its row so that the audit trail's actor ids stay explainable.
CREATE TABLE admin_keys (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    prefix       TEXT NOT NULL,
    secret_hash  TEXT NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at   INTEGER
);

-- instance_role is '' or 'operator'; disabled_at is set while an operator
-- has disabled the account.
ALTER TABLE users ADD COLUMN instance_role TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN disabled_at INTEGER;
ALTER TABLE users ADD COLUMN disabled_reason TEXT NOT NULL DEFAULT '';

-- Keyset pagination, newest first: (created_at, id) in every list.
CREATE INDEX users_created ON users (created_at, id);
CREATE INDEX audit_events_created ON audit_events (created_at, id);
CREATE INDEX audit_events_org ON audit_events (org_id, created_at, id);
CREATE INDEX audit_events_action ON audit_events (action, created_at, id);
CREATE INDEX audit_events_target ON audit_events (target, created_at, id);
CREATE INDEX orgs_created ON orgs (created_at, id);
-- Email-prefix search ranges over the unique index on email (BINARY collation).
