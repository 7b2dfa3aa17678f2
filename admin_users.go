package latchkey

import (
	"context"
	"errors"
	"strings"
	"time"
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
