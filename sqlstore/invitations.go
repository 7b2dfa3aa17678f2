package sqlstore

import (
	"context"

	"github.com/latchkey/latchkey"
)

const invitationColumns = `id, org_id, email, role, inviter_id, token_hash, expires_at, created_at`

func scanInvitation(row scanner) (latchkey.Invitation, error) {
	var inv latchkey.Invitation
	var expires, created int64
	err := row.Scan(&inv.ID, &inv.OrgID, &inv.Email, &inv.Role, &inv.InviterID, &inv.TokenHash, &expires, &created)
	inv.ExpiresAt, inv.CreatedAt = fromTS(expires), fromTS(created)
	return inv, translate(err)
}

// CreateInvitation inserts an invitation; ErrConflict when the org already
// has one for the address.
func (s *Store) CreateInvitation(ctx context.Context, inv latchkey.Invitation) error {
	return s.exec(ctx, `INSERT INTO invitations (`+invitationColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		inv.ID, inv.OrgID, inv.Email, string(inv.Role), inv.InviterID, inv.TokenHash, ts(inv.ExpiresAt), ts(inv.CreatedAt))
}

// InvitationByToken finds an invitation by token hash, locking it inside a
// transaction.
func (s *Store) InvitationByToken(ctx context.Context, tokenHash string) (latchkey.Invitation, error) {
	return scanInvitation(s.w.QueryRowContext(ctx, `SELECT `+invitationColumns+` FROM invitations WHERE token_hash = $1`+s.forUpdate(), tokenHash))
}

// Invitations lists an org's invitations, newest first.
func (s *Store) Invitations(ctx context.Context, orgID string) ([]latchkey.Invitation, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+invitationColumns+` FROM invitations WHERE org_id = $1 ORDER BY created_at DESC, id`, orgID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []latchkey.Invitation
	for rows.Next() {
		inv, err := scanInvitation(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, inv)
	}
	return out, rows.Err()
}

// DeleteInvitation deletes an org's invitation; ErrNotFound when absent.
func (s *Store) DeleteInvitation(ctx context.Context, orgID, id string) error {
	return s.execOne(ctx, `DELETE FROM invitations WHERE org_id = $1 AND id = $2`, orgID, id)
}

// DeleteInvitationTo deletes the org's invitation to an address, if any.
func (s *Store) DeleteInvitationTo(ctx context.Context, orgID, email string) error {
	return s.exec(ctx, `DELETE FROM invitations WHERE org_id = $1 AND email = $2`, orgID, email)
}
