package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/latchkey/latchkey"
)

// adminUserColumns are a user's columns (alias u) and the admin ones: the
// instance role, the disabled state and the newest session's start.
const adminUserColumns = `u.id, u.email, u.email_verified, u.name, u.password_hash, u.created_at, u.updated_at,
	u.instance_role, u.disabled_at, u.disabled_reason,
	(SELECT MAX(x.created_at) FROM sessions x WHERE x.user_id = u.id)`

func scanAdminUser(row scanner) (latchkey.AdminUser, error) {
	var a latchkey.AdminUser
	var hash sql.NullString
	var created, updated int64
	var disabled, lastSignIn sql.NullInt64
	err := row.Scan(&a.ID, &a.Email, &a.EmailVerified, &a.Name, &hash, &created, &updated,
		&a.InstanceRole, &disabled, &a.Reason, &lastSignIn)
	if err != nil {
		return a, translate(err)
	}
	a.PasswordHash, a.CreatedAt, a.UpdatedAt = hash.String, fromTS(created), fromTS(updated)
	a.DisabledAt, a.LastSignInAt = fromNullTS(disabled), fromNullTS(lastSignIn)
	return a, nil
}

// AdminUserByID reads a user with its admin columns.
func (s *Store) AdminUserByID(ctx context.Context, id string) (latchkey.AdminUser, error) {
	return scanAdminUser(s.r.QueryRowContext(ctx, `SELECT `+adminUserColumns+` FROM users u WHERE u.id = $1`, id))
}

// UserDisabledAt reads users.disabled_at; in a PostgreSQL transaction
// with FOR KEY SHARE, the lock a new session's foreign key takes anyway:
// it conflicts with the FOR UPDATE of a disable, not with other sign-ins.
func (s *Store) UserDisabledAt(ctx context.Context, id string) (time.Time, error) {
	lock := ""
	if s.db.Dialect == Postgres && s.inTx {
		lock = " FOR KEY SHARE"
	}
	var at sql.NullInt64
	err := s.r.QueryRowContext(ctx, `SELECT disabled_at FROM users WHERE id = $1`+lock, id).Scan(&at)
	return fromNullTS(at), translate(err)
}

// SetUserDisabled writes the disabled state.
func (s *Store) SetUserDisabled(ctx context.Context, id string, at time.Time, reason string) error {
	return s.execOne(ctx, `UPDATE users SET disabled_at = $2, disabled_reason = $3 WHERE id = $1`, id, nullTS(at), reason)
}

// RevokeAllSessions revokes a user's live sessions (expired ones are dead
// already and not counted).
func (s *Store) RevokeAllSessions(ctx context.Context, userID string, at time.Time) (int, error) {
	res, err := s.w.ExecContext(ctx, `UPDATE sessions SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2`, userID, ts(at))
	if err != nil {
		return 0, translate(err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}
