-- Enterprise SSO (issue 8): connections owned by an org, the domains they
-- claim (unique across every org), the IdP subjects they link to users,
-- the SAML assertion IDs already accepted, and the deployment's SAML
-- service-provider key pair.
CREATE TABLE sso_connections (
    id               TEXT PRIMARY KEY,
    org_id           TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    protocol         TEXT NOT NULL,
    enforced         INTEGER NOT NULL DEFAULT 0,
    issuer           TEXT NOT NULL DEFAULT '',
    client_id        TEXT NOT NULL DEFAULT '',
    client_secret    TEXT NOT NULL DEFAULT '',
    idp_metadata_url TEXT NOT NULL DEFAULT '',
    idp_metadata_xml TEXT NOT NULL DEFAULT '',
    created_at       INTEGER NOT NULL
);
CREATE INDEX sso_connections_org ON sso_connections (org_id, created_at);

CREATE TABLE sso_domains (
    domain        TEXT PRIMARY KEY,
    connection_id TEXT NOT NULL REFERENCES sso_connections(id) ON DELETE CASCADE,
    position      INTEGER NOT NULL
);
CREATE INDEX sso_domains_connection ON sso_domains (connection_id);

CREATE TABLE sso_identities (
    connection_id TEXT NOT NULL REFERENCES sso_connections(id) ON DELETE CASCADE,
    subject       TEXT NOT NULL,
    user_id       TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    email         TEXT NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL,
    PRIMARY KEY (connection_id, subject)
);
CREATE INDEX sso_identities_user ON sso_identities (user_id);

CREATE TABLE sso_assertions (
    connection_id TEXT NOT NULL REFERENCES sso_connections(id) ON DELETE CASCADE,
    assertion_id  TEXT NOT NULL,
    expires_at    INTEGER NOT NULL,
    PRIMARY KEY (connection_id, assertion_id)
);
CREATE INDEX sso_assertions_expiry ON sso_assertions (expires_at);

CREATE TABLE saml_keys (
    slot        INTEGER PRIMARY KEY,
    certificate TEXT NOT NULL,
    private_key TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);
