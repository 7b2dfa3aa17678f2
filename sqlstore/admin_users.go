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
	(SELECT MAX(x.created_at) FROM sessions x WHERE x.user_id = u.id),
	EXISTS (SELECT 1 FROM mfa_factors f WHERE f.user_id = u.id AND f.confirmed_at IS NOT NULL)`

func scanAdminUser(row scanner) (latchkey.AdminUser, error) {
	var a latchkey.AdminUser
	var hash sql.NullString
	var created, updated int64
	var disabled, lastSignIn sql.NullInt64
	err := row.Scan(&a.ID, &a.Email, &a.EmailVerified, &a.Name, &hash, &created, &updated,
		&a.InstanceRole, &disabled, &a.Reason, &lastSignIn, &a.MFAEnrolled)
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

// densePrefixRows is where SQLite stops reading an email prefix's range
// and walks the newest users instead. Counting the range's first entries
// is what every prefix query pays, so the bound is low; past it, walking
// users_created to a page is quick unless fewer than 1 in 200 users share
// the prefix (docs/benchmarks.md has the figures at a million users).
var densePrefixRows = 5000

// densePrefix reports whether at least densePrefixRows emails start with
// prefix. SQLite's planner has no range statistics and always takes the
// email index for a prefix, then sorts every match by age: 0.4 s for
// "seed" among a million users. When the prefix is that common, walking
// users_created newest first meets a page of matches soon; when it is
// rare, sorting its few matches is cheap. PostgreSQL's planner makes the
// same choice from its statistics.
func (s *Store) densePrefix(ctx context.Context, prefix string) (bool, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM users WHERE email >= $1 AND email < $2 LIMIT $3)`,
		prefix, prefix+"\U0010FFFF", densePrefixRows).Scan(&n)
	return n >= densePrefixRows, translate(err)
}

// AdminUsers lists users newest first. Every filter keeps the keyset
// order (created_at, id) of users_created, so a page costs the same at a
// million users as at a thousand; an email prefix is a range on the
// email index instead, in byte order (COLLATE "C" on PostgreSQL, whose
// users_email_prefix index is made for it).
func (s *Store) AdminUsers(ctx context.Context, f latchkey.AdminUserFilter) ([]latchkey.AdminUser, error) {
	var q newestFirst
	from := "users u"
	if f.OrgID != "" {
		from += " JOIN memberships m ON m.user_id = u.id AND m.org_id = " + q.arg(f.OrgID)
	}
	if f.ID != "" {
		q.and("u.id = " + q.arg(f.ID))
	}
	if f.EmailPrefix != "" {
		email := "u.email"
		if s.db.Dialect == Postgres {
			email = `u.email COLLATE "C"`
		} else if dense, err := s.densePrefix(ctx, f.EmailPrefix); err != nil {
			return nil, err
		} else if dense {
			email = "+u.email" // not the email index: walk users_created
		}
		q.prefix(email, f.EmailPrefix)
	}
	if f.Disabled != nil {
		if *f.Disabled {
			q.and("u.disabled_at IS NOT NULL")
		} else {
			q.and("u.disabled_at IS NULL")
		}
	}
	rows, err := s.r.QueryContext(ctx, q.sql(`SELECT `+adminUserColumns+` FROM `+from, "u.", f.After, f.Limit), q.args...)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	out := []latchkey.AdminUser{}
	for rows.Next() {
		u, err := scanAdminUser(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}
