package latchkey

import (
	"context"
	"slices"
	"strings"
	"time"
)

// reauthWindow is how recently a password-less user must have signed in to
// delete their account.
const reauthWindow = 15 * time.Minute

// ChangePassword replaces the caller's password after checking the current
// one, and signs out every other session.
func (s *Service) ChangePassword(ctx context.Context, ac *AuthContext, current, next string) error {
	if err := requireSession(ac); err != nil {
		return err
	}
	if err := s.requireStepUp(ac); err != nil {
		return err
	}
	if current == "" {
		return Invalid("current_password", "current_password is required.")
	}
	if next == "" {
		return Invalid("new_password", "new_password is required.")
	}
	u, err := s.Store.UserByID(ctx, ac.User.ID)
	if err != nil {
		return err
	}
	if !u.HasPassword() {
		return Errorf(CodePasswordNotSet, "This account has no password yet. Use auth.password.set.")
	}
	// A stolen session must not become a password-guessing oracle: these
	// guesses share the account's login budget.
	if err := s.rateLimit(ctx, "login-account:"+u.Email, ruleLoginAccount); err != nil {
		return err
	}
	if ok, _, err := s.Config.Password.Verify(u.PasswordHash, current); err != nil || !ok {
		return Errorf(CodeInvalidCredentials, "The current password is incorrect.")
	}
	if current == next {
		return Errorf(CodePasswordUnchanged, "The new password must differ from the current one.")
	}
	if err := checkPassword("new_password", next); err != nil {
		return err
	}
	if err := s.setPassword(ctx, u, next, ac.SessionID, Errorf(CodeInvalidCredentials, "The current password is incorrect.")); err != nil {
		return err
	}
	s.audit(ctx, AuditEvent{ActorID: u.ID, OrgID: ac.Org.ID, Action: "user.password_changed", Target: u.ID, IP: ac.Meta.IP, UserAgent: ac.Meta.UserAgent})
	return nil
}

// SetPassword gives a password to an account that has none.
func (s *Service) SetPassword(ctx context.Context, ac *AuthContext, pw string) error {
	if err := requireSession(ac); err != nil {
		return err
	}
	if pw == "" {
		return Invalid("password", "password is required.")
	}
	u, err := s.Store.UserByID(ctx, ac.User.ID)
	if err != nil {
		return err
	}
	if u.HasPassword() {
		return Errorf(CodePasswordAlreadySet, "This account already has a password. Use auth.password.change.")
	}
	if err := checkPassword("password", pw); err != nil {
		return err
	}
	if err := s.setPassword(ctx, u, pw, ac.SessionID, Errorf(CodePasswordAlreadySet, "This account already has a password. Use auth.password.change.")); err != nil {
		return err
	}
	s.audit(ctx, AuditEvent{ActorID: u.ID, OrgID: ac.Org.ID, Action: "user.password_set", Target: u.ID, IP: ac.Meta.IP, UserAgent: ac.Meta.UserAgent})
	return nil
}

// setPassword hashes and stores pw and revokes every session of the user
// but keep (which may be empty: all of them).
//
// The user is read again inside the transaction: if the stored hash is no
// longer the one the caller checked (a concurrent change or set won the
// race), it returns moved; and the write starts from the fresh row, so a
// change made meanwhile to other columns (email verification) survives.
func (s *Service) setPassword(ctx context.Context, u User, pw, keep string, moved error) error {
	hash, err := s.Config.Password.Hash(pw)
	if err != nil {
		return err
	}
	return s.Store.Tx(ctx, func(tx Store) error {
		cur, err := tx.UserByID(ctx, u.ID)
		if err != nil {
			return err
		}
		if cur.PasswordHash != u.PasswordHash {
			return moved
		}
		now := s.now()
		cur.PasswordHash = hash
		cur.UpdatedAt = now
		if err := tx.UpdateUser(ctx, cur); err != nil {
			return err
		}
		if err := s.emitUser(ctx, tx, EventUserUpdated, cur); err != nil {
			return err
		}
		_, err = s.revokeSessionsOf(ctx, tx, u.ID, keep, revokedPassword, now)
		return err
	})
}

// DeleteAccount deletes the caller and everything that is theirs: sessions,
// identities, passkeys, challenges, and the orgs where they are the only
// member with those orgs' keys. An org they alone own with other members
// blocks it (transfer ownership first).
func (s *Service) DeleteAccount(ctx context.Context, ac *AuthContext, pw *string) error {
	if err := requireSession(ac); err != nil {
		return err
	}
	if err := s.requireStepUp(ac); err != nil {
		return err
	}
	u, err := s.Store.UserByID(ctx, ac.User.ID)
	if err != nil {
		return err
	}
	switch {
	case u.HasPassword() && (pw == nil || *pw == ""):
		return Invalid("password", "Enter your password to delete the account.")
	case u.HasPassword():
		if err := s.rateLimit(ctx, "login-account:"+u.Email, ruleLoginAccount); err != nil {
			return err
		}
		if ok, _, err := s.Config.Password.Verify(u.PasswordHash, *pw); err != nil || !ok {
			return Errorf(CodeInvalidCredentials, "The password is incorrect.")
		}
	case s.now().Sub(ac.AuthenticatedAt) > reauthWindow:
		return Errorf(CodeReauthRequired, "Sign in again, then delete the account within 15 minutes.")
	}
	err = s.Store.Tx(ctx, func(tx Store) error {
		_, err := s.deleteUser(ctx, tx, u, false)
		return err
	})
	if err != nil {
		return err
	}
	s.audit(ctx, AuditEvent{ActorID: u.ID, Action: "user.deleted", Target: u.ID, IP: ac.Meta.IP, UserAgent: ac.Meta.UserAgent})
	s.track(u.ID, "account_deleted", nil)
	return nil
}

// deleteUser deletes u inside tx with its event, and every org of which
// u is the only member. An org with other members whose only owner is u
// stops the deletion with org_has_other_members, unless force: then its
// oldest admin, or else its oldest member, becomes an owner first (the
// orgs returned).
func (s *Service) deleteUser(ctx context.Context, tx Store, u User, force bool) ([]string, error) {
	ms, err := tx.MembershipsOfUser(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	// One order for every deletion, so two of them never lock the
	// same orgs in opposite orders.
	slices.SortFunc(ms, func(a, b Membership) int { return strings.Compare(a.OrgID, b.OrgID) })
	var solo, transferred []string
	for _, m := range ms {
		// Locking the org's members (as role changes do) stops two
		// owners who delete themselves at once from both seeing the
		// other still there and leaving the org without an owner.
		members, err := tx.OrgMembers(ctx, m.OrgID)
		if err != nil {
			return nil, err
		}
		owners := 0
		for _, o := range members {
			if o.Role == RoleOwner {
				owners++
			}
		}
		switch {
		case len(members) == 1:
			solo = append(solo, m.OrgID)
		case m.Role != RoleOwner || owners > 1:
		case !force:
			return nil, Errorf(CodeOrgHasOtherMembers, "You own an organization with other members. Transfer ownership first.")
		default:
			heir := successor(members, u.ID)
			if err := tx.UpdateMembershipRole(ctx, heir.UserID, m.OrgID, RoleOwner); err != nil {
				return nil, err
			}
			if err := s.emitMember(ctx, tx, EventMemberRoleChanged, Membership{UserID: heir.UserID, OrgID: m.OrgID, Role: RoleOwner}, heir.Role); err != nil {
				return nil, err
			}
			transferred = append(transferred, m.OrgID)
		}
	}
	for _, id := range solo {
		if err := s.deleteOrg(ctx, tx, id); err != nil {
			return nil, err
		}
	}
	if err := s.emitUser(ctx, tx, EventUserDeleted, u); err != nil {
		return nil, err
	}
	return transferred, tx.DeleteUser(ctx, u.ID)
}

// successor is who inherits an org from a departing owner: the oldest
// admin, or else the oldest member (members come oldest first).
func successor(members []Member, leaving string) Member {
	var heir Member
	for _, m := range members {
		if m.UserID == leaving {
			continue
		}
		if m.Role == RoleAdmin {
			return m
		}
		if heir.UserID == "" {
			heir = m
		}
	}
	return heir
}
