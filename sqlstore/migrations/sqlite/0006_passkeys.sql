-- Passkeys (WebAuthn credentials), issue 6. The credential ID is the
-- authenticator's and unique across users; sign_count is the last
-- signature counter seen, for clone detection.
CREATE TABLE passkeys (
    id                 TEXT PRIMARY KEY,
    user_id            TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name               TEXT NOT NULL DEFAULT '',
    credential_id      BLOB NOT NULL UNIQUE,
    public_key         BLOB NOT NULL,
    sign_count         INTEGER NOT NULL DEFAULT 0,
    transports         TEXT NOT NULL DEFAULT '',
    aaguid             BLOB,
    user_verified      INTEGER NOT NULL DEFAULT 0,
    backup_eligible    INTEGER NOT NULL DEFAULT 0,
    backup_state       INTEGER NOT NULL DEFAULT 0,
    attestation_type   TEXT NOT NULL DEFAULT '',
    attestation_format TEXT NOT NULL DEFAULT '',
    created_at         INTEGER NOT NULL,
    last_used_at       INTEGER
);
CREATE INDEX passkeys_user ON passkeys (user_id, created_at);
