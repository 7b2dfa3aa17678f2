package sqlstore

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/latchkey/latchkey"
)

const sessionColumns = `id, user_id, org_id, created_at, last_seen_at, expires_at, authenticated_at, revoked_at, ip, user_agent, aal, amr, mfa_at, sso`

type scanner interface{ Scan(...any) error }

func scanSession(row scanner) (latchkey.Session, error) {
	var x latchkey.Session
	var created, seen, expires, authed int64
	var revoked, mfaAt sql.NullInt64
	var amr string
	err := row.Scan(&x.ID, &x.UserID, &x.OrgID, &created, &seen, &expires, &authed, &revoked, &x.IP, &x.UserAgent, &x.AAL, &amr, &mfaAt, &x.SSO)
	x.CreatedAt, x.LastSeenAt, x.ExpiresAt, x.AuthenticatedAt, x.RevokedAt = fromTS(created), fromTS(seen), fromTS(expires), fromTS(authed), fromNullTS(revoked)
	x.AMR, x.MFAAt = splitAMR(amr), fromNullTS(mfaAt)
	return x, translate(err)
}

// CreateSession inserts a session.
func (s *Store) CreateSession(ctx context.Context, x latchkey.Session) error {
	return s.exec(ctx, `INSERT INTO sessions (`+sessionColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		x.ID, x.UserID, x.OrgID, ts(x.CreatedAt), ts(x.LastSeenAt), ts(x.ExpiresAt), ts(x.AuthenticatedAt), nullTS(x.RevokedAt), x.IP, x.UserAgent,
		x.AAL, strings.Join(x.AMR, " "), nullTS(x.MFAAt), x.SSO)
}

// SessionByID reads a session.
func (s *Store) SessionByID(ctx context.Context, id string) (latchkey.Session, error) {
	return scanSession(s.r.QueryRowContext(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE id = $1`, id))
}

// MarkSessionMFA records a second-factor check on a live session: aal2,
// its methods and the time, which step-up freshness is measured from.
// UpdateSession leaves these columns alone, so a refresh that read the
// session before the check cannot undo it.
func (s *Store) MarkSessionMFA(ctx context.Context, id string, amr []string, at time.Time) error {
	return s.execOne(ctx, `UPDATE sessions SET aal = 'aal2', amr = $2, mfa_at = $3 WHERE id = $1 AND revoked_at IS NULL`, id, strings.Join(amr, " "), ts(at))
}

func splitAMR(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Fields(s)
}

// ExtendSession moves a session's expiry and last use forward: a refresh.
// It is the one write to a cached row that neither waits for the barrier
// (authcache.go) nor is announced (migration 0016): a node still holding
// the earlier expiry could only refuse the session sooner, and it reads
// the row again within authcache.DefaultMaxAge. Refreshes stay as fast as
// without the cache.
func (s *Store) ExtendSession(ctx context.Context, id string, seen, expires time.Time) error {
	res, err := s.w.ExecContext(ctx, `UPDATE sessions SET last_seen_at = $2, expires_at = $3 WHERE id = $1 AND revoked_at IS NULL`, id, ts(seen), ts(expires))
	if err != nil {
		return translate(err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return latchkey.ErrNotFound
	}
	return nil
}

// UpdateSession writes a session's mutable columns. A revoked session stays
// revoked, at its first revocation time: a flow that read the session just
// before a concurrent logout (a refresh, an org switch) must not write it
// back to life.
func (s *Store) UpdateSession(ctx context.Context, x latchkey.Session) error {
	return s.execOne(ctx, `UPDATE sessions SET org_id = $2, last_seen_at = $3, expires_at = $4, authenticated_at = $5, revoked_at = COALESCE(revoked_at, $6) WHERE id = $1`,
		x.ID, x.OrgID, ts(x.LastSeenAt), ts(x.ExpiresAt), ts(x.AuthenticatedAt), nullTS(x.RevokedAt))
}

// ActiveSessions lists a user's live sessions, newest first.
func (s *Store) ActiveSessions(ctx context.Context, userID string, now time.Time) ([]latchkey.Session, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2 ORDER BY created_at DESC`, userID, ts(now))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []latchkey.Session
	for rows.Next() {
		x, err := scanSession(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, rows.Err()
}

// RevokeUserSessions revokes a user's live sessions except keep.
func (s *Store) RevokeUserSessions(ctx context.Context, userID, keep string, at time.Time) error {
	return s.exec(ctx, `UPDATE sessions SET revoked_at = $3 WHERE user_id = $1 AND id <> $2 AND revoked_at IS NULL`, userID, keep, ts(at))
}

// SessionAuth reads a session with its user, org and the user's role there
// in one query: the access-token hot path. It reads only what an
// AuthContext holds (see latchkey.SessionAuth).
func (s *Store) SessionAuth(ctx context.Context, sessionID string) (latchkey.SessionAuth, error) {
	key := "s:" + sessionID
	return throughCache(s, key, func() (latchkey.SessionAuth, error) { return s.sessionAuth(ctx, sessionID) },
		func(a latchkey.SessionAuth) []string { return []string{key, "u:" + a.User.ID, "o:" + a.Org.ID} })
}

func (s *Store) sessionAuth(ctx context.Context, sessionID string) (latchkey.SessionAuth, error) {
	var a latchkey.SessionAuth
	var x = &a.Session
	var expires, authed, uCreated int64
	var revoked, mfaAt sql.NullInt64
	var hash sql.NullString
	var role, amr string
	err := s.hotRow(ctx, sessionAuthQuery, sessionID).Scan(
		&x.UserID, &x.OrgID, &expires, &authed, &revoked, &x.AAL, &amr, &mfaAt, &x.SSO,
		&a.User.Email, &a.User.EmailVerified, &a.User.Name, &hash, &uCreated,
		&a.Org.Name, &a.Org.Slug, &a.OrgRequiresMFA, &role, &a.MFAEnrolled)
	if err != nil {
		return latchkey.SessionAuth{}, translate(err)
	}
	x.ID, x.ExpiresAt, x.AuthenticatedAt, x.RevokedAt = sessionID, fromTS(expires), fromTS(authed), fromNullTS(revoked)
	x.AMR, x.MFAAt = splitAMR(amr), fromNullTS(mfaAt)
	a.User.ID, a.User.PasswordHash, a.User.CreatedAt = x.UserID, hash.String, fromTS(uCreated)
	a.Org.ID, a.Role = x.OrgID, latchkey.Role(role)
	return a, nil
}

// CreateRefreshToken inserts a refresh token.
func (s *Store) CreateRefreshToken(ctx context.Context, t latchkey.RefreshToken) error {
	return s.exec(ctx, `INSERT INTO refresh_tokens (hash, session_id, parent_hash, created_at, expires_at, rotated_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		t.Hash, t.SessionID, nullString(t.ParentHash), ts(t.CreatedAt), ts(t.ExpiresAt), nullTS(t.RotatedAt))
}

// SessionOfRefreshToken reads a refresh token's session, locking the
// session (not the token) inside a transaction.
func (s *Store) SessionOfRefreshToken(ctx context.Context, hash string) (latchkey.Session, error) {
	return scanSession(s.w.QueryRowContext(ctx, `SELECT `+sessionColumns+` FROM sessions
		WHERE id = (SELECT session_id FROM refresh_tokens WHERE hash = $1)`+s.forUpdate(), hash))
}

// RefreshTokenForUpdate reads a refresh token, locking it inside a transaction.
func (s *Store) RefreshTokenForUpdate(ctx context.Context, hash string) (latchkey.RefreshToken, error) {
	var t latchkey.RefreshToken
	var parent sql.NullString
	var created, expires int64
	var rotated sql.NullInt64
	err := s.w.QueryRowContext(ctx, `SELECT hash, session_id, parent_hash, created_at, expires_at, rotated_at FROM refresh_tokens WHERE hash = $1`+s.forUpdate(), hash).
		Scan(&t.Hash, &t.SessionID, &parent, &created, &expires, &rotated)
	t.ParentHash, t.CreatedAt, t.ExpiresAt, t.RotatedAt = parent.String, fromTS(created), fromTS(expires), fromNullTS(rotated)
	return t, translate(err)
}

// MarkRefreshTokenRotated records the first use of a refresh token.
func (s *Store) MarkRefreshTokenRotated(ctx context.Context, hash string, at time.Time) error {
	return s.execOne(ctx, `UPDATE refresh_tokens SET rotated_at = $2 WHERE hash = $1`, hash, ts(at))
}

// sessionAuthQuery reads a session with its user, org and role.
const sessionAuthQuery = `
	SELECT s.user_id, s.org_id, s.expires_at, s.authenticated_at, s.revoked_at, s.aal, s.amr, s.mfa_at, s.sso,
	       u.email, u.email_verified, u.name, u.password_hash, u.created_at,
	       o.name, o.slug, o.require_mfa, m.role,
	       EXISTS (SELECT 1 FROM mfa_factors f WHERE f.user_id = s.user_id AND f.confirmed_at IS NOT NULL)
	FROM sessions s
	JOIN users u ON u.id = s.user_id
	JOIN orgs o ON o.id = s.org_id
	JOIN memberships m ON m.user_id = s.user_id AND m.org_id = s.org_id
	WHERE s.id = $1`
