-- Passkeys (WebAuthn credentials), issue 6. The credential ID is the
-- authenticator's and unique across users; sign_count is the last
-- signature counter seen, for clone detection.
CREATE TABLE passkeys (
    id                 TEXT PRIMARY KEY,
    user_id            TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name               TEXT NOT NULL DEFAULT '',
    credential_id      BYTEA NOT NULL UNIQUE,
    public_key         BYTEA NOT NULL,
    sign_count         BIGINT NOT NULL DEFAULT 0,
    transports         TEXT NOT NULL DEFAULT '',
    aaguid             BYTEA,
    user_verified      BOOLEAN NOT NULL DEFAULT false,
    backup_eligible    BOOLEAN NOT NULL DEFAULT false,
    backup_state       BOOLEAN NOT NULL DEFAULT false,
    attestation_type   TEXT NOT NULL DEFAULT '',
    attestation_format TEXT NOT NULL DEFAULT '',
    created_at         BIGINT NOT NULL,
    last_used_at       BIGINT
);
CREATE INDEX passkeys_user ON passkeys (user_id, created_at);
