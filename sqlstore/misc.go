package sqlstore

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"fmt"

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
	rows, err := s.r.QueryContext(ctx, `SELECT id, actor_id, org_id, action, target, ip, user_agent, data, created_at FROM audit_events WHERE actor_id = $1 ORDER BY created_at, id`, actorID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []latchkey.AuditEvent
	for rows.Next() {
		var e latchkey.AuditEvent
		var data string
		var created int64
		if err := rows.Scan(&e.ID, &e.ActorID, &e.OrgID, &e.Action, &e.Target, &e.IP, &e.UserAgent, &data, &created); err != nil {
			return nil, err
		}
		e.Data, e.CreatedAt = []byte(data), fromTS(created)
		out = append(out, e)
	}
	return out, rows.Err()
}

// SigningKeys lists the token signing keys, oldest slot first.
func (s *Store) SigningKeys(ctx context.Context) ([]latchkey.SigningKey, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT slot, kid, private_key, created_at FROM signing_keys ORDER BY slot`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []latchkey.SigningKey
	for rows.Next() {
		var k latchkey.SigningKey
		var seed string
		var created int64
		if err := rows.Scan(&k.Slot, &k.KID, &seed, &created); err != nil {
			return nil, err
		}
		raw, err := base64.StdEncoding.DecodeString(seed)
		if err != nil || len(raw) != ed25519.SeedSize {
			return nil, fmt.Errorf("signing key %s is corrupt", k.KID)
		}
		k.PrivateKey, k.CreatedAt = ed25519.NewKeyFromSeed(raw), fromTS(created)
		out = append(out, k)
	}
	return out, rows.Err()
}

// CreateSigningKey inserts a key unless its slot is taken.
func (s *Store) CreateSigningKey(ctx context.Context, k latchkey.SigningKey) error {
	return s.exec(ctx, `INSERT INTO signing_keys (slot, kid, private_key, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (slot) DO NOTHING`,
		k.Slot, k.KID, base64.StdEncoding.EncodeToString(k.PrivateKey.Seed()), ts(k.CreatedAt))
}
