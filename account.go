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
		ms, err := tx.MembershipsOfUser(ctx, u.ID)
		if err != nil {
			return err
		}
		// One order for every deletion, so two of them never lock the
		// same orgs in opposite orders.
		slices.SortFunc(ms, func(a, b Membership) int { return strings.Compare(a.OrgID, b.OrgID) })
		var solo []string
		for _, m := range ms {
			// Locking the org's members (as role changes do) stops two
			// owners who delete themselves at once from both seeing the
			// other still there and leaving the org without an owner.
			n, owners, err := headcount(ctx, tx, m.OrgID)
			if err != nil {
				return err
			}
			if n == 1 {
				solo = append(solo, m.OrgID)
				continue
			}
			if m.Role == RoleOwner && owners == 1 {
				return Errorf(CodeOrgHasOtherMembers, "You own an organization with other members. Transfer ownership first.")
			}
		}
		for _, id := range solo {
			if err := s.deleteOrg(ctx, tx, id); err != nil {
				return err
			}
		}
		if err := s.emitUser(ctx, tx, EventUserDeleted, u); err != nil {
			return err
		}
		return tx.DeleteUser(ctx, u.ID)
	})
	if err != nil {
		return err
	}
	s.audit(ctx, AuditEvent{ActorID: u.ID, Action: "user.deleted", Target: u.ID, IP: ac.Meta.IP, UserAgent: ac.Meta.UserAgent})
	s.track(u.ID, "account_deleted", nil)
	return nil
}

// headcount counts an org's members and owners, locking their rows
// until the transaction ends.
func headcount(ctx context.Context, tx Store, orgID string) (members, owners int, err error) {
	ms, err := tx.OrgMembers(ctx, orgID)
	if err != nil {
		return 0, 0, err
	}
	for _, m := range ms {
		if m.Role == RoleOwner {
			owners++
		}
	}
	return len(ms), owners, nil
}
