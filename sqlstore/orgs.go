package sqlstore

import (
	"context"
	"fmt"

	"github.com/latchkey/latchkey"
)

// CreateOrg inserts an org; ErrConflict when the slug is taken. A taken
// slug is not an SQL error (ON CONFLICT DO NOTHING), so the transaction
// stays usable for a retry with another slug: on PostgreSQL a failed
// statement aborts the whole transaction.
func (s *Store) CreateOrg(ctx context.Context, o latchkey.Org) error {
	res, err := s.w.ExecContext(ctx, `INSERT INTO orgs (id, name, slug, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (slug) DO NOTHING`,
		o.ID, o.Name, o.Slug, ts(o.CreatedAt))
	if err != nil {
		return translate(err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return fmt.Errorf("%w: slug %q is taken", latchkey.ErrConflict, o.Slug)
	}
	return nil
}

// OrgByID reads an org.
func (s *Store) OrgByID(ctx context.Context, id string) (latchkey.Org, error) {
	var o latchkey.Org
	var created int64
	err := s.r.QueryRowContext(ctx, `SELECT id, name, slug, created_at FROM orgs WHERE id = $1`, id).Scan(&o.ID, &o.Name, &o.Slug, &created)
	o.CreatedAt = fromTS(created)
	return o, translate(err)
}

// DeleteOrg deletes an org and, by cascade, its memberships and keys.
func (s *Store) DeleteOrg(ctx context.Context, id string) error {
	return s.execOne(ctx, `DELETE FROM orgs WHERE id = $1`, id)
}

// CreateMembership inserts a membership.
func (s *Store) CreateMembership(ctx context.Context, m latchkey.Membership) error {
	return s.exec(ctx, `INSERT INTO memberships (user_id, org_id, role, created_at) VALUES ($1, $2, $3, $4)`, m.UserID, m.OrgID, string(m.Role), ts(m.CreatedAt))
}

const membershipColumns = `user_id, org_id, role, created_at`

func (s *Store) memberships(ctx context.Context, query string, args ...any) ([]latchkey.Membership, error) {
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []latchkey.Membership
	for rows.Next() {
		var m latchkey.Membership
		var created int64
		if err := rows.Scan(&m.UserID, &m.OrgID, &m.Role, &created); err != nil {
			return nil, err
		}
		m.CreatedAt = fromTS(created)
		out = append(out, m)
	}
	return out, rows.Err()
}

// Membership reads one membership.
func (s *Store) Membership(ctx context.Context, userID, orgID string) (latchkey.Membership, error) {
	ms, err := s.memberships(ctx, `SELECT `+membershipColumns+` FROM memberships WHERE user_id = $1 AND org_id = $2`, userID, orgID)
	if err != nil {
		return latchkey.Membership{}, err
	}
	if len(ms) == 0 {
		return latchkey.Membership{}, latchkey.ErrNotFound
	}
	return ms[0], nil
}

// MembershipsOfUser lists a user's memberships, oldest first.
func (s *Store) MembershipsOfUser(ctx context.Context, userID string) ([]latchkey.Membership, error) {
	return s.memberships(ctx, `SELECT `+membershipColumns+` FROM memberships WHERE user_id = $1 ORDER BY created_at, org_id`, userID)
}

// Members lists an org's memberships, oldest first.
func (s *Store) Members(ctx context.Context, orgID string) ([]latchkey.Membership, error) {
	return s.memberships(ctx, `SELECT `+membershipColumns+` FROM memberships WHERE org_id = $1 ORDER BY created_at, user_id`, orgID)
}

// CountMembers counts an org's members.
func (s *Store) CountMembers(ctx context.Context, orgID string) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM memberships WHERE org_id = $1`, orgID).Scan(&n)
	return n, err
}

// FirstMember returns the org's earliest membership.
func (s *Store) FirstMember(ctx context.Context, orgID string) (latchkey.Membership, error) {
	ms, err := s.memberships(ctx, `SELECT `+membershipColumns+` FROM memberships WHERE org_id = $1 ORDER BY created_at, user_id LIMIT 1`, orgID)
	if err != nil {
		return latchkey.Membership{}, err
	}
	if len(ms) == 0 {
		return latchkey.Membership{}, latchkey.ErrNotFound
	}
	return ms[0], nil
}

// AdminOrgs lists orgs newest first on orgs_created; a slug prefix is a
// range on the slug index instead (orgs_slug_prefix on PostgreSQL, in
// byte order like SQLite's).
func (s *Store) AdminOrgs(ctx context.Context, f latchkey.AdminOrgFilter) ([]latchkey.AdminOrg, error) {
	var q newestFirst
	if f.ID != "" {
		q.and("o.id = " + q.arg(f.ID))
	}
	if f.SlugPrefix != "" {
		slug := "o.slug"
		if s.db.Dialect == Postgres {
			slug = `o.slug COLLATE "C"`
		}
		q.prefix(slug, f.SlugPrefix)
	}
	sel := `SELECT o.id, o.name, o.slug, o.created_at, (SELECT COUNT(*) FROM memberships m WHERE m.org_id = o.id) FROM orgs o`
	rows, err := s.r.QueryContext(ctx, q.sql(sel, "o.", f.After, f.Limit), q.args...)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	out := []latchkey.AdminOrg{}
	for rows.Next() {
		var o latchkey.AdminOrg
		var created int64
		if err := rows.Scan(&o.ID, &o.Name, &o.Slug, &created, &o.Members); err != nil {
			return nil, err
		}
		o.CreatedAt = fromTS(created)
		out = append(out, o)
	}
	return out, rows.Err()
}
