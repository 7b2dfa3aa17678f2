package sqlstore

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/latchkey/latchkey"
)

// OAuthIdentitiesOfUser lists a user's linked provider identities, oldest first.
func (s *Store) OAuthIdentitiesOfUser(ctx context.Context, userID string) ([]latchkey.OAuthIdentity, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, user_id, provider, subject, email, created_at FROM oauth_identities WHERE user_id = $1 ORDER BY created_at, id`, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []latchkey.OAuthIdentity
	for rows.Next() {
		var i latchkey.OAuthIdentity
		var created int64
		if err := rows.Scan(&i.ID, &i.UserID, &i.Provider, &i.Subject, &i.Email, &created); err != nil {
			return nil, err
		}
		i.CreatedAt = fromTS(created)
		out = append(out, i)
	}
	return out, rows.Err()
}

// AddAuditEvent appends an audit event.
func (s *Store) AddAuditEvent(ctx context.Context, e latchkey.AuditEvent) error {
	return s.exec(ctx, `INSERT INTO audit_events (id, actor_id, org_id, action, target, ip, user_agent, data, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		e.ID, e.ActorID, e.OrgID, e.Action, e.Target, e.IP, e.UserAgent, string(e.Data), ts(e.CreatedAt))
}

// AuditEvents lists the events of one actor, oldest first.
func (s *Store) AuditEvents(ctx context.Context, actorID string) ([]latchkey.AuditEvent, error) {
	return s.auditEvents(ctx, `SELECT id, actor_id, org_id, action, target, ip, user_agent, data, created_at FROM audit_events WHERE actor_id = $1 ORDER BY created_at, id`, actorID)
}

// SigningKeys lists the token signing keys, oldest slot first. A sealed
// key comes back in Sealed for the domain to open; a clear row (from
// before sealing) also fills PrivateKey.
func (s *Store) SigningKeys(ctx context.Context) ([]latchkey.SigningKey, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT slot, kid, private_key, not_before, created_at FROM signing_keys ORDER BY slot`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []latchkey.SigningKey
	for rows.Next() {
		var k latchkey.SigningKey
		var stored string
		var notBefore, created int64
		if err := rows.Scan(&k.Slot, &k.KID, &stored, &notBefore, &created); err != nil {
			return nil, err
		}
		k.Sealed, k.CreatedAt = stored, fromTS(created)
		if notBefore != 0 {
			k.NotBefore = fromTS(notBefore)
		}
		if !strings.HasPrefix(stored, "v1:") && !strings.HasPrefix(stored, "plain:") {
			raw, err := base64.StdEncoding.DecodeString(stored)
			if err != nil || len(raw) != ed25519.SeedSize {
				return nil, fmt.Errorf("signing key %s is corrupt", k.KID)
			}
			k.PrivateKey = ed25519.NewKeyFromSeed(raw)
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// CreateSigningKey inserts a key unless its slot is taken. It stores
// k.Sealed, or, for a key given without it, the clear seed.
func (s *Store) CreateSigningKey(ctx context.Context, k latchkey.SigningKey) error {
	stored := k.Sealed
	if stored == "" {
		stored = base64.StdEncoding.EncodeToString(k.PrivateKey.Seed())
	}
	var notBefore int64
	if !k.NotBefore.IsZero() {
		notBefore = ts(k.NotBefore)
	}
	return s.exec(ctx, `INSERT INTO signing_keys (slot, kid, private_key, not_before, created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (slot) DO NOTHING`,
		k.Slot, k.KID, stored, notBefore, ts(k.CreatedAt))
}

// secretColumns names where each kind of stored secret lives.
var secretColumns = map[string]struct{ table, column, key, clear string }{
	latchkey.SecretSigningKey: {"signing_keys", "private_key", "slot", `private_key NOT LIKE 'v1:%'`},
	latchkey.SecretSAMLKey:    {"saml_keys", "private_key", "slot", `private_key NOT LIKE 'v1:%'`},
	latchkey.SecretSSOClient:  {"sso_connections", "client_secret", "id", `client_secret <> '' AND client_secret NOT LIKE 'v1:%'`},
	latchkey.SecretTOTPSeed:   {"mfa_factors", "secret", "id", `secret NOT LIKE 'v1:%'`},
	latchkey.SecretWebhook:    {"webhooks", "secrets", "id", `secrets NOT LIKE 'v1:%'`},
}

// ClearSecrets lists the stored secrets that are not sealed.
func (s *Store) ClearSecrets(ctx context.Context) ([]latchkey.StoredSecret, error) {
	var out []latchkey.StoredSecret
	for _, kind := range []string{latchkey.SecretSigningKey, latchkey.SecretSAMLKey, latchkey.SecretSSOClient, latchkey.SecretTOTPSeed, latchkey.SecretWebhook} {
		c := secretColumns[kind]
		rows, err := s.r.QueryContext(ctx, `SELECT CAST(`+c.key+` AS TEXT), `+c.column+` FROM `+c.table+` WHERE `+c.clear)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			sec := latchkey.StoredSecret{Kind: kind}
			if err := rows.Scan(&sec.ID, &sec.Value); err != nil {
				rows.Close()
				return nil, err
			}
			out = append(out, sec)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ReplaceSecret writes sealed over the secret's value if it is unchanged.
func (s *Store) ReplaceSecret(ctx context.Context, sec latchkey.StoredSecret, sealed string) error {
	c, ok := secretColumns[sec.Kind]
	if !ok {
		return fmt.Errorf("unknown secret kind %q", sec.Kind)
	}
	return s.exec(ctx, `UPDATE `+c.table+` SET `+c.column+` = $1 WHERE CAST(`+c.key+` AS TEXT) = $2 AND `+c.column+` = $3`, sealed, sec.ID, sec.Value)
}
