package sqlstore

import (
	"context"

	"github.com/latchkey/latchkey"
)

// OrgMembers lists an org's members with their email and name, oldest first.
func (s *Store) OrgMembers(ctx context.Context, orgID string) ([]latchkey.Member, error) {
	rows, err := s.r.QueryContext(ctx, `
		SELECT m.user_id, u.email, u.name, m.role, m.created_at
		FROM memberships m JOIN users u ON u.id = m.user_id
		WHERE m.org_id = $1 ORDER BY m.created_at, m.user_id`+s.forUpdate(), orgID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []latchkey.Member
	for rows.Next() {
		var m latchkey.Member
		var created int64
		if err := rows.Scan(&m.UserID, &m.Email, &m.Name, &m.Role, &created); err != nil {
			return nil, err
		}
		m.CreatedAt = fromTS(created)
		out = append(out, m)
	}
	return out, rows.Err()
}

// UpdateMembershipRole sets a member's role; ErrNotFound when absent.
func (s *Store) UpdateMembershipRole(ctx context.Context, userID, orgID string, role latchkey.Role) error {
	return s.execOne(ctx, `UPDATE memberships SET role = $3 WHERE user_id = $1 AND org_id = $2`, userID, orgID, string(role))
}

// DeleteMembership removes a member; ErrNotFound when absent.
func (s *Store) DeleteMembership(ctx context.Context, userID, orgID string) error {
	return s.execOne(ctx, `DELETE FROM memberships WHERE user_id = $1 AND org_id = $2`, userID, orgID)
}
