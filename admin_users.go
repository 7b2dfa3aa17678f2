package latchkey

import (
	"context"
	"errors"
	"strings"
	"time"
	"unicode/utf8"
)

// AdminUser is a user as operators see it: the account plus what support
// needs at a glance. It holds no secret.
type AdminUser struct {
	User
	InstanceRole string
	DisabledAt   time.Time // zero while the account works
	Reason       string    // why it was disabled
	LastSignInAt time.Time // the newest session's start; zero if never
	MFAEnrolled  bool
}

// Disabled reports whether an operator has disabled the account.
func (u AdminUser) Disabled() bool { return !u.DisabledAt.IsZero() }

// AdminMembership is one of a user's memberships, with the org's name.
type AdminMembership struct {
	OrgID   string
	OrgName string
	Role    Role
}

// AdminUserDetail is admin.users.get: the user and everything attached,
// never a secret (no hashes, no keys, no tokens).
type AdminUserDetail struct {
	User        AdminUser
	Memberships []AdminMembership
	Identities  []OAuthIdentity
	Passkeys    int
	Factors     []AdminFactor
	Sessions    []Session
}

// AdminFactor is a second factor as operators see it (no seed).
type AdminFactor struct {
	ID        string
	Type      string
	Name      string
	CreatedAt time.Time
}

// AdminUserStore is the storage the admin user flows read.
type AdminUserStore interface {
	// AdminUserByID reads a user with its admin columns.
	AdminUserByID(ctx context.Context, id string) (AdminUser, error)
	// UserDisabledAt reads when the user was disabled (zero: enabled);
	// inside Tx on PostgreSQL it takes a key-share lock on the user row,
	// which waits for a concurrent disable (see checkEnabled).
	UserDisabledAt(ctx context.Context, id string) (time.Time, error)
	// SetUserDisabled disables the user at at with reason, or enables
	// them when at is zero.
	SetUserDisabled(ctx context.Context, id string, at time.Time, reason string) error
	// RevokeAllSessions revokes every live session of the user and
	// returns how many.
	RevokeAllSessions(ctx context.Context, userID string, at time.Time) (int, error)
}

// checkID validates an id field of the request: present, short, with the
// expected prefix. A wrong id is not_found, not a 500.
func checkID(field, id, prefix string) (string, error) {
	id = strings.TrimSpace(id)
	if id == "" {
		return "", Invalid(field, "%s is required.", field)
	}
	if len(id) > 64 || !strings.HasPrefix(id, prefix) || strings.ContainsFunc(id, isControl) {
		return "", Errorf(CodeNotFound, "No %s has this id.", strings.TrimSuffix(field, "_id"))
	}
	return id, nil
}

// AdminGetUser is admin.users.get.
func (s *Service) AdminGetUser(ctx context.Context, ac *AuthContext, userID string) (AdminUserDetail, error) {
	if err := RequireOperator(ac); err != nil {
		return AdminUserDetail{}, err
	}
	id, err := checkID("user_id", userID, "usr_")
	if err != nil {
		return AdminUserDetail{}, err
	}
	d, err := s.adminUserDetail(ctx, id)
	if err != nil {
		return AdminUserDetail{}, err
	}
	s.auditAdmin(ctx, ac, "admin.users.get", id, "", nil)
	return d, nil
}

var errNoSuchUser = Errorf(CodeNotFound, "No user has this id.")

func (s *Service) adminUserDetail(ctx context.Context, id string) (AdminUserDetail, error) {
	u, err := s.Store.AdminUserByID(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return AdminUserDetail{}, errNoSuchUser
	} else if err != nil {
		return AdminUserDetail{}, err
	}
	d := AdminUserDetail{User: u, Factors: []AdminFactor{}}
	ms, err := s.Store.MembershipsOfUser(ctx, id)
	if err != nil {
		return AdminUserDetail{}, err
	}
	for _, m := range ms {
		o, err := s.Store.OrgByID(ctx, m.OrgID)
		if err != nil {
			return AdminUserDetail{}, err
		}
		d.Memberships = append(d.Memberships, AdminMembership{OrgID: o.ID, OrgName: o.Name, Role: m.Role})
	}
	if d.Identities, err = s.Store.OAuthIdentitiesOfUser(ctx, id); err != nil {
		return AdminUserDetail{}, err
	}
	pks, err := s.Store.PasskeysOfUser(ctx, id)
	if err != nil {
		return AdminUserDetail{}, err
	}
	d.Passkeys = len(pks)
	if d.Sessions, err = s.Store.ActiveSessions(ctx, id, s.now()); err != nil {
		return AdminUserDetail{}, err
	}
	return d, nil
}

// errAccountDisabled is every sign-in path's answer for a disabled user.
var errAccountDisabled = Errorf(CodeAccountDisabled, "This account has been disabled. Contact the people who run this service.")

// checkEnabled is the one check of every path that creates a session or
// a way back into the account: startSession calls it inside the sign-in's
// transaction, where on PostgreSQL it holds a key-share lock on the user
// (the lock the session's foreign key takes anyway), so a concurrent
// disable either waits for the sign-in and then revokes its session, or
// commits first and is seen here.
func checkEnabled(ctx context.Context, st Store, userID string) error {
	at, err := st.UserDisabledAt(ctx, userID)
	if err != nil {
		return err
	}
	if !at.IsZero() {
		return errAccountDisabled
	}
	return nil
}

// AdminDisableUser is admin.users.disable: the account's sessions are
// revoked in the same transaction (their next request is 401 on every
// node) and every sign-in path answers 403 account_disabled until it is
// enabled. Disabling a disabled account keeps its first time and reason.
func (s *Service) AdminDisableUser(ctx context.Context, ac *AuthContext, userID, reason string) (AdminUser, error) {
	return s.setDisabled(ctx, ac, userID, reason, true)
}

// AdminEnableUser is admin.users.enable. Revoked sessions stay revoked.
func (s *Service) AdminEnableUser(ctx context.Context, ac *AuthContext, userID, reason string) (AdminUser, error) {
	return s.setDisabled(ctx, ac, userID, reason, false)
}

func (s *Service) setDisabled(ctx context.Context, ac *AuthContext, userID, reason string, disable bool) (AdminUser, error) {
	if err := RequireOperator(ac); err != nil {
		return AdminUser{}, err
	}
	id, err := checkID("user_id", userID, "usr_")
	if err != nil {
		return AdminUser{}, err
	}
	if reason, err = checkReason(reason); err != nil {
		return AdminUser{}, err
	}
	revoked := 0
	err = s.Store.Tx(ctx, func(tx Store) error {
		u, err := tx.UserForUpdate(ctx, id)
		if errors.Is(err, ErrNotFound) {
			return errNoSuchUser
		} else if err != nil {
			return err
		}
		now := s.now()
		at, err := tx.UserDisabledAt(ctx, id)
		if err != nil {
			return err
		}
		if !disable {
			if at.IsZero() {
				return nil
			}
			if err := tx.SetUserDisabled(ctx, id, time.Time{}, ""); err != nil {
				return err
			}
			return s.emitUser(ctx, tx, EventUserEnabled, u)
		}
		if at.IsZero() {
			if err := tx.SetUserDisabled(ctx, id, now, reason); err != nil {
				return err
			}
			if err := s.emitUser(ctx, tx, EventUserDisabled, u); err != nil {
				return err
			}
		}
		revoked, err = s.revokeSessionsOf(ctx, tx, id, "", revokedDisabled, now)
		return err
	})
	if err != nil {
		return AdminUser{}, err
	}
	action, data := "admin.users.enabled", map[string]any{"reason": reason}
	if disable {
		action, data["sessions_revoked"] = "admin.users.disabled", revoked
	}
	s.auditAdmin(ctx, ac, action, id, "", data)
	u, err := s.Store.AdminUserByID(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return AdminUser{}, errNoSuchUser
	}
	return u, err
}

// checkReason bounds the operator's free-text reason.
func checkReason(reason string) (string, error) {
	reason = strings.TrimSpace(reason)
	if utf8.RuneCountInString(reason) > 500 || strings.ContainsFunc(reason, func(r rune) bool { return isControl(r) && r != '\n' }) {
		return "", Invalid("reason", "reason must be at most 500 printable characters.")
	}
	return reason, nil
}
