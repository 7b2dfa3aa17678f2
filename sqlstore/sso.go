package sqlstore

import (
	"context"
	"time"

	"github.com/latchkey/latchkey"
	"github.com/latchkey/latchkey/secret"
)

const ssoColumns = `id, org_id, protocol, enforced, issuer, client_id, client_secret, idp_metadata_url, idp_metadata_xml, created_at`

func scanSSOConnection(row scanner) (latchkey.SSOConnection, error) {
	var c latchkey.SSOConnection
	var sealed string
	var created int64
	err := row.Scan(&c.ID, &c.OrgID, &c.Protocol, &c.Enforced, &c.Issuer, &c.ClientID, &sealed, &c.IdPMetadataURL, &c.IdPMetadataXML, &created)
	c.ClientSecret, c.CreatedAt = secret.Value(sealed), fromTS(created)
	return c, translate(err)
}

// CreateSSOConnection inserts a connection and its domains in one
// transaction; ErrConflict when a domain is claimed already.
func (s *Store) CreateSSOConnection(ctx context.Context, c latchkey.SSOConnection) error {
	return s.Tx(ctx, func(tx latchkey.Store) error {
		t := tx.(*Store)
		if err := t.exec(ctx, `INSERT INTO sso_connections (`+ssoColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			c.ID, c.OrgID, c.Protocol, c.Enforced, c.Issuer, c.ClientID, c.ClientSecret.Reveal(), c.IdPMetadataURL, c.IdPMetadataXML, ts(c.CreatedAt)); err != nil {
			return err
		}
		for i, d := range c.Domains {
			if err := t.exec(ctx, `INSERT INTO sso_domains (domain, connection_id, position) VALUES ($1, $2, $3)`, d, c.ID, i); err != nil {
				return err
			}
		}
		return nil
	})
}

// withDomains reads the domains of c.
func (s *Store) withDomains(ctx context.Context, c latchkey.SSOConnection) (latchkey.SSOConnection, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT domain FROM sso_domains WHERE connection_id = $1 ORDER BY position`, c.ID)
	if err != nil {
		return c, err
	}
	defer rows.Close()
	c.Domains = []string{}
	for rows.Next() {
		var d string
		if err := rows.Scan(&d); err != nil {
			return c, err
		}
		c.Domains = append(c.Domains, d)
	}
	return c, rows.Err()
}

// SSOConnectionByID reads a connection with its domains.
func (s *Store) SSOConnectionByID(ctx context.Context, id string) (latchkey.SSOConnection, error) {
	c, err := scanSSOConnection(s.r.QueryRowContext(ctx, `SELECT `+ssoColumns+` FROM sso_connections WHERE id = $1`, id))
	if err != nil {
		return c, err
	}
	return s.withDomains(ctx, c)
}

// SSOConnectionByDomain reads the connection that claims a domain.
func (s *Store) SSOConnectionByDomain(ctx context.Context, domain string) (latchkey.SSOConnection, error) {
	c, err := scanSSOConnection(s.r.QueryRowContext(ctx, `SELECT `+ssoColumns+` FROM sso_connections WHERE id = (SELECT connection_id FROM sso_domains WHERE domain = $1)`, domain))
	if err != nil {
		return c, err
	}
	return s.withDomains(ctx, c)
}

// SSOConnectionsOfOrg lists an org's connections, oldest first.
func (s *Store) SSOConnectionsOfOrg(ctx context.Context, orgID string) ([]latchkey.SSOConnection, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+ssoColumns+` FROM sso_connections WHERE org_id = $1 ORDER BY created_at, id`, orgID)
	if err != nil {
		return nil, err
	}
	var out []latchkey.SSOConnection
	for rows.Next() {
		c, err := scanSSOConnection(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		if out[i], err = s.withDomains(ctx, out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// DeleteSSOConnection deletes a connection; its domains, identities and
// assertion records go by cascade.
func (s *Store) DeleteSSOConnection(ctx context.Context, id string) error {
	return s.execOne(ctx, `DELETE FROM sso_connections WHERE id = $1`, id)
}

// SSOIdentity reads the link of a subject at a connection.
func (s *Store) SSOIdentity(ctx context.Context, connectionID, subject string) (latchkey.SSOIdentity, error) {
	var id latchkey.SSOIdentity
	var created int64
	err := s.r.QueryRowContext(ctx, `SELECT connection_id, subject, user_id, email, created_at FROM sso_identities WHERE connection_id = $1 AND subject = $2`,
		connectionID, subject).Scan(&id.ConnectionID, &id.Subject, &id.UserID, &id.Email, &created)
	id.CreatedAt = fromTS(created)
	return id, translate(err)
}

// CreateSSOIdentity links a subject to a user.
func (s *Store) CreateSSOIdentity(ctx context.Context, id latchkey.SSOIdentity) error {
	return s.exec(ctx, `INSERT INTO sso_identities (connection_id, subject, user_id, email, created_at) VALUES ($1, $2, $3, $4, $5)`,
		id.ConnectionID, id.Subject, id.UserID, id.Email, ts(id.CreatedAt))
}

// ConsumeSSOAssertion drops expired assertion records, then records this
// one; ErrConflict when it is recorded already.
func (s *Store) ConsumeSSOAssertion(ctx context.Context, connectionID, assertionID string, expires, now time.Time) error {
	if err := s.exec(ctx, `DELETE FROM sso_assertions WHERE expires_at < $1`, ts(now)); err != nil {
		return err
	}
	return s.exec(ctx, `INSERT INTO sso_assertions (connection_id, assertion_id, expires_at) VALUES ($1, $2, $3)`,
		connectionID, assertionID, ts(expires))
}

// SAMLKeyPair reads the SAML SP key pair.
func (s *Store) SAMLKeyPair(ctx context.Context) (certPEM, keyPEM string, err error) {
	err = s.r.QueryRowContext(ctx, `SELECT certificate, private_key FROM saml_keys WHERE slot = 1`).Scan(&certPEM, &keyPEM)
	return certPEM, keyPEM, translate(err)
}

// CreateSAMLKeyPair stores the SAML SP key pair unless one exists.
func (s *Store) CreateSAMLKeyPair(ctx context.Context, certPEM, keyPEM string, now time.Time) error {
	return s.exec(ctx, `INSERT INTO saml_keys (slot, certificate, private_key, created_at) VALUES (1, $1, $2, $3) ON CONFLICT (slot) DO NOTHING`,
		certPEM, keyPEM, ts(now))
}
