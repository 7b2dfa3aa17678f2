package sqlstore

import (
	"context"

	"github.com/latchkey/latchkey"
)

// CreateOAuthIdentity inserts an identity; ErrConflict when its provider
// subject is taken or its user has one of that provider already.
func (s *Store) CreateOAuthIdentity(ctx context.Context, i latchkey.OAuthIdentity) error {
	return s.exec(ctx, `INSERT INTO oauth_identities (id, user_id, provider, subject, email, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		i.ID, i.UserID, i.Provider, i.Subject, i.Email, ts(i.CreatedAt))
}

// OAuthIdentityBySubject finds the identity of a provider subject, locking
// it inside a transaction.
func (s *Store) OAuthIdentityBySubject(ctx context.Context, provider, subject string) (latchkey.OAuthIdentity, error) {
	var i latchkey.OAuthIdentity
	var created int64
	err := s.w.QueryRowContext(ctx, `SELECT id, user_id, provider, subject, email, created_at FROM oauth_identities WHERE provider = $1 AND subject = $2`+s.forUpdate(),
		provider, subject).Scan(&i.ID, &i.UserID, &i.Provider, &i.Subject, &i.Email, &created)
	i.CreatedAt = fromTS(created)
	return i, translate(err)
}

// MoveOAuthIdentity gives an identity to another user; ErrConflict when
// that user has an identity of the same provider.
func (s *Store) MoveOAuthIdentity(ctx context.Context, id, userID string) error {
	return s.execOne(ctx, `UPDATE oauth_identities SET user_id = $2 WHERE id = $1`, id, userID)
}

// DeleteOAuthIdentity deletes an identity.
func (s *Store) DeleteOAuthIdentity(ctx context.Context, id string) error {
	return s.execOne(ctx, `DELETE FROM oauth_identities WHERE id = $1`, id)
}
