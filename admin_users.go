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
	// AdminUsers lists users newest first, by (created_at, id), from
	// before f.After, at most f.Limit.
	AdminUsers(ctx context.Context, f AdminUserFilter) ([]AdminUser, error)
}

// AdminUserFilter selects users for admin.users.list. Empty fields do
// not filter.
type AdminUserFilter struct {
	EmailPrefix string // normalized
	ID          string
	OrgID       string
	Disabled    *bool
	After       Cursor
	Limit       int
}

// AdminUserQuery is admin.users.list's request.
type AdminUserQuery struct {
	Query    string // an email prefix or a user id
	OrgID    string
	Disabled *bool
	Cursor   string
	Limit    int
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
	fs, err := s.Store.MFAFactorsOfUser(ctx, id)
	if err != nil {
		return AdminUserDetail{}, err
	}
	for _, f := range fs {
		if f.Confirmed() { // one being enrolled signs nothing yet
			d.Factors = append(d.Factors, AdminFactor{ID: f.ID, Type: f.Type, Name: f.Name, CreatedAt: f.CreatedAt})
		}
	}
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

// AdminListUsers is admin.users.list: newest first, a page at a time.
func (s *Service) AdminListUsers(ctx context.Context, ac *AuthContext, q AdminUserQuery) ([]AdminUser, string, error) {
	if err := RequireOperator(ac); err != nil {
		return nil, "", err
	}
	f := AdminUserFilter{Disabled: q.Disabled}
	limit, err := pageLimit(q.Limit)
	if err != nil {
		return nil, "", err
	}
	f.Limit = limit + 1 // one more, to know whether a next page exists
	if f.After, err = parseCursor(q.Cursor); err != nil {
		return nil, "", err
	}
	query := strings.TrimSpace(q.Query)
	if len(query) > 320 || strings.ContainsFunc(query, isControl) {
		return nil, "", Invalid("query", "query must be an email prefix or a user id, at most 320 characters.")
	}
	if strings.HasPrefix(query, "usr_") {
		f.ID = query
	} else {
		f.EmailPrefix = strings.ToLower(query)
	}
	if q.OrgID != "" {
		if f.OrgID, err = checkID("org_id", q.OrgID, "org_"); err != nil {
			return []AdminUser{}, "", nil // no such org: no members
		}
	}
	list, err := s.Store.AdminUsers(ctx, f)
	if err != nil {
		return nil, "", err
	}
	list, next := page(list, limit, func(u AdminUser) Cursor { return Cursor{u.CreatedAt, u.ID} })
	s.auditAdmin(ctx, ac, "admin.users.list", "", f.OrgID, map[string]any{"query": query})
	return list, next, nil
}

// adminTarget checks user_id and locks the user inside tx.
func adminTarget(ctx context.Context, tx Store, userID string) (User, error) {
	id, err := checkID("user_id", userID, "usr_")
	if err != nil {
		return User{}, err
	}
	u, err := tx.UserForUpdate(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return User{}, errNoSuchUser
	}
	return u, err
}

// AdminRevokeSessions is admin.users.revoke_sessions: every live session
// of the user ends now, on every node, with reason admin.
func (s *Service) AdminRevokeSessions(ctx context.Context, ac *AuthContext, userID string) (int, error) {
	if err := RequireOperator(ac); err != nil {
		return 0, err
	}
	var n int
	var u User
	err := s.Store.Tx(ctx, func(tx Store) error {
		var err error
		if u, err = adminTarget(ctx, tx, userID); err != nil {
			return err
		}
		n, err = s.revokeSessionsOf(ctx, tx, u.ID, "", revokedAdmin, s.now())
		return err
	})
	if err != nil {
		return 0, err
	}
	s.auditAdmin(ctx, ac, "admin.users.sessions_revoked", u.ID, "", map[string]any{"revoked": n})
	return n, nil
}

// AdminResetMFA is admin.users.mfa.reset: the user's authenticator-app
// factors and recovery codes are deleted (passkeys stay: they are also
// sign-in credentials, removed by the user), and the user is told by
// email, so a reset they did not ask for does not go unnoticed.
func (s *Service) AdminResetMFA(ctx context.Context, ac *AuthContext, userID string) (int, error) {
	if err := RequireOperator(ac); err != nil {
		return 0, err
	}
	id, err := checkID("user_id", userID, "usr_")
	if err != nil {
		return 0, err
	}
	u, err := s.Store.UserByID(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return 0, errNoSuchUser
	} else if err != nil {
		return 0, err
	}
	n, err := s.ResetMFA(ctx, u.ID)
	if err != nil {
		return 0, err
	}
	s.auditAdmin(ctx, ac, "admin.users.mfa_reset", u.ID, "", map[string]any{"factors_removed": n})
	if err := s.Mailer.Send(ctx, u.Email, "mfa_reset", map[string]string{"Name": u.Name}); err != nil {
		s.Logger.ErrorContext(ctx, "mfa reset email not sent", "user", u.ID, "err", err)
	}
	return n, nil
}

// AdminDeleteUser is admin.users.delete: auth.account.delete without the
// password. Without force an owner of an org with other members is
// refused (org_has_other_members); with force the org's oldest admin, or
// else its oldest member, becomes an owner first.
func (s *Service) AdminDeleteUser(ctx context.Context, ac *AuthContext, userID string, force bool) error {
	if err := RequireOperator(ac); err != nil {
		return err
	}
	var u User
	var transferred []string
	err := s.Store.Tx(ctx, func(tx Store) error {
		var err error
		if u, err = adminTarget(ctx, tx, userID); err != nil {
			return err
		}
		transferred, err = s.deleteUser(ctx, tx, u, force)
		return err
	})
	if err != nil {
		return err
	}
	s.auditAdmin(ctx, ac, "admin.users.deleted", u.ID, "", map[string]any{"email": u.Email, "force": force, "ownership_transferred": transferred})
	return nil
}
