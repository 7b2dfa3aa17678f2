package sqlstore

import (
	"context"
	"database/sql"

	"github.com/latchkey/latchkey"
)

const userColumns = `id, email, email_verified, name, password_hash, created_at, updated_at`

func scanUser(row interface{ Scan(...any) error }) (latchkey.User, error) {
	var u latchkey.User
	var hash sql.NullString
	var created, updated int64
	err := row.Scan(&u.ID, &u.Email, &u.EmailVerified, &u.Name, &hash, &created, &updated)
	u.PasswordHash, u.CreatedAt, u.UpdatedAt = hash.String, fromTS(created), fromTS(updated)
	return u, translate(err)
}

// CreateUser inserts a user; ErrConflict when the email is taken.
func (s *Store) CreateUser(ctx context.Context, u latchkey.User) error {
	return s.exec(ctx, `INSERT INTO users (`+userColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		u.ID, u.Email, u.EmailVerified, u.Name, nullString(u.PasswordHash), ts(u.CreatedAt), ts(u.UpdatedAt))
}

// UserByID reads a user, locking the row inside a transaction so that a
// flow that reads, decides and writes the user is not raced by another.
func (s *Store) UserByID(ctx context.Context, id string) (latchkey.User, error) {
	return scanUser(s.r.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`+s.forUpdate(), id))
}

// UserForUpdate reads a user, locking the row inside a transaction.
func (s *Store) UserForUpdate(ctx context.Context, id string) (latchkey.User, error) {
	return scanUser(s.w.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`+s.forUpdate(), id))
}

// UserByEmail reads a user by normalized email.
func (s *Store) UserByEmail(ctx context.Context, email string) (latchkey.User, error) {
	return scanUser(s.r.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE email = $1`, email))
}

// UpdateUser writes the mutable columns of a user.
func (s *Store) UpdateUser(ctx context.Context, u latchkey.User) error {
	return s.execOne(ctx, `UPDATE users SET email = $2, email_verified = $3, name = $4, password_hash = $5, updated_at = $6 WHERE id = $1`,
		u.ID, u.Email, u.EmailVerified, u.Name, nullString(u.PasswordHash), ts(u.UpdatedAt))
}

// DeleteUser deletes a user; their rows go by ON DELETE CASCADE.
func (s *Store) DeleteUser(ctx context.Context, id string) error {
	return s.execOne(ctx, `DELETE FROM users WHERE id = $1`, id)
}
