-- Hardening (issue 15, contract §10).
--
-- SSO domains are proven, not claimed: several orgs may claim a domain,
-- each with its own DNS TXT token; one row per (domain, org). Only a
-- verified row makes a domain discover, enforce or block, and at most one
-- org holds a domain verified. A connection's domains may therefore repeat
-- across connections of different orgs: sso_domains is keyed by
-- (connection_id, domain) now.
CREATE TABLE sso_domains_new (
    domain        TEXT NOT NULL,
    connection_id TEXT NOT NULL REFERENCES sso_connections(id) ON DELETE CASCADE,
    position      INTEGER NOT NULL,
    PRIMARY KEY (connection_id, domain)
);
INSERT INTO sso_domains_new (domain, connection_id, position) SELECT domain, connection_id, position FROM sso_domains;
DROP TABLE sso_domains;
ALTER TABLE sso_domains_new RENAME TO sso_domains;
CREATE INDEX sso_domains_domain ON sso_domains (domain);

CREATE TABLE sso_domain_verifications (
    domain      TEXT NOT NULL,
    org_id      TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    token       TEXT NOT NULL,
    verified    INTEGER NOT NULL DEFAULT 0,
    verified_at INTEGER,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (domain, org_id)
);
CREATE UNIQUE INDEX sso_domain_verifications_owner ON sso_domain_verifications (domain) WHERE verified = 1;
CREATE INDEX sso_domain_verifications_org ON sso_domain_verifications (org_id);

-- Existing claims become unverified claims with a fresh token each.
INSERT INTO sso_domain_verifications (domain, org_id, token, verified, created_at)
SELECT d.domain, c.org_id, lower(hex(randomblob(16))), 0, MIN(c.created_at)
FROM sso_domains d JOIN sso_connections c ON c.id = d.connection_id
GROUP BY d.domain, c.org_id;

-- Signing keys rotate (latchkey keys rotate): a key signs from
-- not_before, so JWKS caches learn it first.
ALTER TABLE signing_keys ADD COLUMN not_before INTEGER NOT NULL DEFAULT 0;
