-- Multi-factor authentication (contract §7, issue 12).
--
-- A session records how it was signed in: its assurance level, its RFC 8176
-- methods (space-separated), when a second factor was last checked (for
-- step-up freshness) and whether it came from SSO (which satisfies an org's
-- MFA policy).
ALTER TABLE sessions ADD COLUMN aal TEXT NOT NULL DEFAULT 'aal1';
ALTER TABLE sessions ADD COLUMN amr TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN mfa_at INTEGER;
ALTER TABLE sessions ADD COLUMN sso INTEGER NOT NULL DEFAULT 0;

-- TOTP factors. secret is the seed sealed under the server secret (never in
-- clear); last_step is the last accepted RFC 6238 time step, so a code is
-- accepted at most once. An unconfirmed factor (confirmed_at NULL) signs
-- nothing and is swept after 15 minutes.
CREATE TABLE mfa_factors (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    type         TEXT NOT NULL,
    name         TEXT NOT NULL DEFAULT '',
    secret       TEXT NOT NULL,
    last_step    INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL,
    confirmed_at INTEGER,
    last_used_at INTEGER
);
CREATE INDEX mfa_factors_user ON mfa_factors (user_id, created_at);

-- Recovery codes, by SHA-256; a used code's row is deleted.
CREATE TABLE mfa_recovery_codes (
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash  TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, code_hash)
);

-- The org policy of §7.
ALTER TABLE orgs ADD COLUMN require_mfa INTEGER NOT NULL DEFAULT 0;
