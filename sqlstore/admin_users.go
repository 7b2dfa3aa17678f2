package sqlstore

import (
	"context"
	"database/sql"

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
