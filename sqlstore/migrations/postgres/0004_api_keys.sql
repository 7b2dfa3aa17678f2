-- API keys (issue 4). A secret key is stored only as its SHA-256; the
-- hash is the lookup key of every API-key request. created_by survives the
-- creator's account (SET NULL): the key belongs to the org.
CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    scopes       TEXT NOT NULL,
    prefix       TEXT NOT NULL,
    secret_hash  TEXT NOT NULL UNIQUE,
    created_by   TEXT REFERENCES users(id) ON DELETE SET NULL,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT
);
CREATE INDEX api_keys_org ON api_keys (org_id, created_at);

-- Publishable keys identify an org to browsers; they are not secret.
CREATE TABLE publishable_keys (
    id         TEXT PRIMARY KEY,
    org_id     TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    key        TEXT NOT NULL UNIQUE,
    created_by TEXT REFERENCES users(id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX publishable_keys_org ON publishable_keys (org_id, created_at);
