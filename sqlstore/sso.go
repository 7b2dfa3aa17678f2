package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
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

// CreateSSOConnection inserts a connection, its domains and the org's
// unverified claims on domains it has no row for yet, in one
// transaction; ErrConflict when another org has verified a domain or
// another connection of the org lists it.
func (s *Store) CreateSSOConnection(ctx context.Context, c latchkey.SSOConnection) error {
	return s.Tx(ctx, func(tx latchkey.Store) error {
		t := tx.(*Store)
		if err := t.exec(ctx, `INSERT INTO sso_connections (`+ssoColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			c.ID, c.OrgID, c.Protocol, c.Enforced, c.Issuer, c.ClientID, c.ClientSecret.Reveal(), c.IdPMetadataURL, c.IdPMetadataXML, ts(c.CreatedAt)); err != nil {
			return err
		}
		for i, d := range c.Domains {
			var n int
			if err := t.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM sso_domain_verifications WHERE domain = $1 AND org_id <> $2 AND verified = $3`, d, c.OrgID, true).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return latchkey.ErrConflict
			}
			if err := t.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM sso_domains d JOIN sso_connections c ON c.id = d.connection_id WHERE d.domain = $1 AND c.org_id = $2`, d, c.OrgID).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return latchkey.ErrConflict
			}
			if err := t.exec(ctx, `INSERT INTO sso_domains (domain, connection_id, position) VALUES ($1, $2, $3)`, d, c.ID, i); err != nil {
				return err
			}
			token := ""
			if i < len(c.Verifications) {
				token = c.Verifications[i].Token
			}
			if token == "" {
				return fmt.Errorf("domain %s has no verification token", d)
			}
			if err := t.exec(ctx, `INSERT INTO sso_domain_verifications (domain, org_id, token, verified, created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (domain, org_id) DO NOTHING`,
				d, c.OrgID, token, false, ts(c.CreatedAt)); err != nil {
				return err
			}
		}
		return nil
	})
}

// withDomains reads the domains of c and the org's proofs of them.
func (s *Store) withDomains(ctx context.Context, c latchkey.SSOConnection) (latchkey.SSOConnection, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT d.domain, COALESCE(v.token, ''), COALESCE(v.verified, $2), v.verified_at, COALESCE(v.created_at, 0)
		FROM sso_domains d LEFT JOIN sso_domain_verifications v ON v.domain = d.domain AND v.org_id = $3
		WHERE d.connection_id = $1 ORDER BY d.position`, c.ID, false, c.OrgID)
	if err != nil {
		return c, err
	}
	defer rows.Close()
	c.Domains, c.Verifications = []string{}, []latchkey.DomainVerification{}
	for rows.Next() {
		v := latchkey.DomainVerification{OrgID: c.OrgID}
		var at sql.NullInt64
		var created int64
		if err := rows.Scan(&v.Domain, &v.Token, &v.Verified, &at, &created); err != nil {
			return c, err
		}
		v.VerifiedAt, v.CreatedAt = fromNullTS(at), fromTS(created)
		c.Domains = append(c.Domains, v.Domain)
		c.Verifications = append(c.Verifications, v)
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

// SSOConnectionByDomain reads the oldest connection listing a domain of
// the org that has verified it; a claim alone finds nothing.
func (s *Store) SSOConnectionByDomain(ctx context.Context, domain string) (latchkey.SSOConnection, error) {
	c, err := scanSSOConnection(s.r.QueryRowContext(ctx, `SELECT `+ssoColumns+` FROM sso_connections WHERE id = (
		SELECT c.id FROM sso_domain_verifications v
		JOIN sso_connections c ON c.org_id = v.org_id
		JOIN sso_domains d ON d.connection_id = c.id AND d.domain = v.domain
		WHERE v.domain = $1 AND v.verified = $2
		ORDER BY c.created_at, c.id LIMIT 1)`, domain, true))
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

// SSODomainClaims lists every org's claim on a domain, oldest first.
func (s *Store) SSODomainClaims(ctx context.Context, domain string) ([]latchkey.DomainVerification, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT domain, org_id, token, verified, verified_at, created_at FROM sso_domain_verifications WHERE domain = $1 ORDER BY created_at, org_id`, domain)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []latchkey.DomainVerification
	for rows.Next() {
		var v latchkey.DomainVerification
		var at sql.NullInt64
		var created int64
		if err := rows.Scan(&v.Domain, &v.OrgID, &v.Token, &v.Verified, &at, &created); err != nil {
			return nil, err
		}
		v.VerifiedAt, v.CreatedAt = fromNullTS(at), fromTS(created)
		out = append(out, v)
	}
	return out, rows.Err()
}

// VerifySSODomain marks the org's claim verified and drops the other
// orgs' claims on the domain. The partial unique index on verified rows
// makes the first of two orgs verifying at once win (ErrConflict).
func (s *Store) VerifySSODomain(ctx context.Context, orgID, domain string, now time.Time) error {
	return s.Tx(ctx, func(tx latchkey.Store) error {
		t := tx.(*Store)
		// Lock every claim on the domain first, in one order: two orgs
		// verifying at once then take turns (the second sees the first's
		// proof) instead of deadlocking on each other's rows.
		rows, err := t.r.QueryContext(ctx, `SELECT org_id FROM sso_domain_verifications WHERE domain = $1 ORDER BY org_id`+t.forUpdate(), domain)
		if err != nil {
			return err
		}
		rows.Close()
		var n int
		if err := t.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM sso_domain_verifications WHERE domain = $1 AND org_id <> $2 AND verified = $3`, domain, orgID, true).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return latchkey.ErrConflict
		}
		if err := t.execOne(ctx, `UPDATE sso_domain_verifications SET verified = $1, verified_at = $2 WHERE domain = $3 AND org_id = $4`, true, ts(now), domain, orgID); err != nil {
			return err
		}
		if err := t.exec(ctx, `DELETE FROM sso_domains WHERE domain = $1 AND connection_id IN (SELECT id FROM sso_connections WHERE org_id <> $2)`, domain, orgID); err != nil {
			return err
		}
		return t.exec(ctx, `DELETE FROM sso_domain_verifications WHERE domain = $1 AND org_id <> $2`, domain, orgID)
	})
}
