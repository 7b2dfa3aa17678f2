package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/latchkey/latchkey"
)

const adminKeyColumns = `id, name, prefix, secret_hash, created_at, last_used_at, revoked_at`

func scanAdminKey(row scanner) (latchkey.AdminKey, error) {
	var k latchkey.AdminKey
	var created int64
	var used, revoked sql.NullInt64
	if err := row.Scan(&k.ID, &k.Name, &k.Prefix, &k.SecretHash, &created, &used, &revoked); err != nil {
		return k, translate(err)
	}
	k.CreatedAt, k.LastUsedAt, k.RevokedAt = fromTS(created), fromNullTS(used), fromNullTS(revoked)
	return k, nil
}

// CreateAdminKey inserts an admin key.
func (s *Store) CreateAdminKey(ctx context.Context, k latchkey.AdminKey) error {
	return s.exec(ctx, `INSERT INTO admin_keys (`+adminKeyColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		k.ID, k.Name, k.Prefix, k.SecretHash, ts(k.CreatedAt), nullTS(k.LastUsedAt), nullTS(k.RevokedAt))
}

// AdminKeyByHash reads a key by the hash of its secret (unique index).
func (s *Store) AdminKeyByHash(ctx context.Context, secretHash string) (latchkey.AdminKey, error) {
	return scanAdminKey(s.r.QueryRowContext(ctx, `SELECT `+adminKeyColumns+` FROM admin_keys WHERE secret_hash = $1`, secretHash))
}

// AdminKeys lists every admin key, oldest first.
func (s *Store) AdminKeys(ctx context.Context) ([]latchkey.AdminKey, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+adminKeyColumns+` FROM admin_keys ORDER BY created_at, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []latchkey.AdminKey
	for rows.Next() {
		k, err := scanAdminKey(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// RevokeAdminKey marks a live key revoked.
func (s *Store) RevokeAdminKey(ctx context.Context, id string, at time.Time) error {
	return s.execOne(ctx, `UPDATE admin_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL`, id, ts(at))
}

// TouchAdminKey records a use at most once per resolution.
func (s *Store) TouchAdminKey(ctx context.Context, id string, at, staleBefore time.Time) error {
	return s.exec(ctx, `UPDATE admin_keys SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at <= $3)`,
		id, ts(at), ts(staleBefore))
}

// InstanceRole reads a user's instance role.
func (s *Store) InstanceRole(ctx context.Context, userID string) (string, error) {
	var role string
	err := s.r.QueryRowContext(ctx, `SELECT instance_role FROM users WHERE id = $1`, userID).Scan(&role)
	return role, translate(err)
}

// SetInstanceRole writes a user's instance role.
func (s *Store) SetInstanceRole(ctx context.Context, userID, role string) error {
	return s.execOne(ctx, `UPDATE users SET instance_role = $2 WHERE id = $1`, userID, role)
}

// UsersWithInstanceRole lists the users holding role, oldest first.
func (s *Store) UsersWithInstanceRole(ctx context.Context, role string) ([]latchkey.User, error) {
	return s.queryUsers(ctx, `SELECT `+userColumns+` FROM users WHERE instance_role = $1 ORDER BY created_at, id`, role)
}

func (s *Store) queryUsers(ctx context.Context, query string, args ...any) ([]latchkey.User, error) {
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []latchkey.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}
