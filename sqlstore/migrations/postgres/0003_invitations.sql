-- Invitations to join an org (issue 3). The token travels only by email;
-- the row keeps its SHA-256. One pending invitation per org and address:
-- inviting again replaces it. The inviter is a user or an API key id, and
-- may outlive neither, so it has no foreign key.
CREATE TABLE invitations (
    id         TEXT PRIMARY KEY,
    org_id     TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    email      TEXT NOT NULL,
    role       TEXT NOT NULL,
    inviter_id TEXT NOT NULL DEFAULT '',
    token_hash TEXT NOT NULL UNIQUE,
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (org_id, email)
);
