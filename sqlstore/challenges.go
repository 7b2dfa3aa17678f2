package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/latchkey/latchkey"
)

const challengeColumns = `id, kind, user_id, email, secret_hash, payload, attempts, expires_at, created_at`

func scanChallenge(row scanner) (latchkey.Challenge, error) {
	var c latchkey.Challenge
	var user sql.NullString
	var payload string
	var expires, created int64
	err := row.Scan(&c.ID, &c.Kind, &user, &c.Email, &c.SecretHash, &payload, &c.Attempts, &expires, &created)
	c.UserID, c.Payload, c.ExpiresAt, c.CreatedAt = user.String, []byte(payload), fromTS(expires), fromTS(created)
	return c, translate(err)
}

// CreateChallenge inserts a challenge.
func (s *Store) CreateChallenge(ctx context.Context, c latchkey.Challenge) error {
	return s.exec(ctx, `INSERT INTO challenges (`+challengeColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		c.ID, c.Kind, nullString(c.UserID), c.Email, c.SecretHash, string(c.Payload), c.Attempts, ts(c.ExpiresAt), ts(c.CreatedAt))
}

// ChallengeByID reads a challenge, locking it inside a transaction.
func (s *Store) ChallengeByID(ctx context.Context, id string) (latchkey.Challenge, error) {
	return scanChallenge(s.w.QueryRowContext(ctx, `SELECT `+challengeColumns+` FROM challenges WHERE id = $1`+s.forUpdate(), id))
}

// ChallengeBySecret finds a challenge by kind and secret hash, locking it
// inside a transaction.
func (s *Store) ChallengeBySecret(ctx context.Context, kind, secretHash string) (latchkey.Challenge, error) {
	return scanChallenge(s.w.QueryRowContext(ctx, `SELECT `+challengeColumns+` FROM challenges WHERE kind = $1 AND secret_hash = $2`+s.forUpdate(), kind, secretHash))
}

// ChallengesOf lists a user's challenges of a kind, newest first.
func (s *Store) ChallengesOf(ctx context.Context, kind, userID string) ([]latchkey.Challenge, error) {
	rows, err := s.w.QueryContext(ctx, `SELECT `+challengeColumns+` FROM challenges WHERE kind = $1 AND user_id = $2 ORDER BY created_at DESC`+s.forUpdate(), kind, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []latchkey.Challenge
	for rows.Next() {
		c, err := scanChallenge(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// UpdateChallenge writes a challenge's attempts, payload and expiry.
func (s *Store) UpdateChallenge(ctx context.Context, c latchkey.Challenge) error {
	return s.execOne(ctx, `UPDATE challenges SET attempts = $2, payload = $3, expires_at = $4 WHERE id = $1`, c.ID, c.Attempts, string(c.Payload), ts(c.ExpiresAt))
}

// DeleteChallenge deletes a challenge; ErrNotFound when another request
// consumed it first.
func (s *Store) DeleteChallenge(ctx context.Context, id string) error {
	return s.execOne(ctx, `DELETE FROM challenges WHERE id = $1`, id)
}

// DeleteChallengesExpiredBefore deletes every challenge that expired
// before t.
func (s *Store) DeleteChallengesExpiredBefore(ctx context.Context, t time.Time) error {
	return s.exec(ctx, `DELETE FROM challenges WHERE expires_at < $1`, ts(t))
}

// DeleteChallengesOf deletes a user's challenges of a kind.
func (s *Store) DeleteChallengesOf(ctx context.Context, kind, userID string) error {
	return s.exec(ctx, `DELETE FROM challenges WHERE kind = $1 AND user_id = $2`, kind, userID)
}
