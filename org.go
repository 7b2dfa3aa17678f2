package latchkey

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"time"

	"github.com/latchkey/latchkey/secret"
)

// Org is an organization: the unit that owns API keys, SSO connections and
// members.
type Org struct {
	ID        string
	Name      string
	Slug      string
	CreatedAt time.Time
}

// Role is a member's role in an org.
type Role string

// The roles, from most to least powerful.
const (
	RoleOwner  Role = "owner"
	RoleAdmin  Role = "admin"
	RoleMember Role = "member"
)

// Valid reports whether r is one of the three roles.
func (r Role) Valid() bool { return r == RoleOwner || r == RoleAdmin || r == RoleMember }

// rank orders roles so that a higher rank may do more.
func (r Role) rank() int {
	switch r {
	case RoleOwner:
		return 3
	case RoleAdmin:
		return 2
	case RoleMember:
		return 1
	}
	return 0
}

// CanAdminister reports whether the role may manage the org.
func (r Role) CanAdminister() bool { return r.rank() >= RoleAdmin.rank() }

// Scopes are what a session of this role may do, as API-key scopes.
func (r Role) Scopes() []string {
	if r.CanAdminister() {
		return []string{ScopeAPIRead, ScopeAPIWrite, ScopeOrgAdmin}
	}
	return []string{ScopeAPIRead, ScopeAPIWrite}
}

// Membership places a user in an org with a role. An org's first member is
// the one with the earliest CreatedAt.
type Membership struct {
	UserID    string
	OrgID     string
	Role      Role
	CreatedAt time.Time
}

var slugJunk = regexp.MustCompile(`[^a-z0-9]+`)

func slugify(name string) string {
	s := strings.Trim(slugJunk.ReplaceAllString(strings.ToLower(name), "-"), "-")
	if len(s) > 40 {
		s = strings.Trim(s[:40], "-")
	}
	if s == "" {
		s = "org"
	}
	return s
}

// createOrgWithOwner creates an org named name with userID as its owner,
// inside tx. A taken slug gets a random suffix.
func (s *Service) createOrgWithOwner(ctx context.Context, tx Store, name, userID string, now time.Time) (Org, error) {
	org := Org{ID: secret.ID("org_"), Name: name, Slug: slugify(name), CreatedAt: now}
	base := org.Slug
	for i := 0; ; i++ {
		err := tx.CreateOrg(ctx, org)
		if err == nil {
			break
		}
		if !errors.Is(err, ErrConflict) || i == 5 {
			return Org{}, err
		}
		org.Slug = base + "-" + secret.ID("")[:6]
	}
	m := Membership{UserID: userID, OrgID: org.ID, Role: RoleOwner, CreatedAt: now}
	if err := tx.CreateMembership(ctx, m); err != nil {
		return Org{}, err
	}
	if err := s.emitOrg(ctx, tx, EventOrgCreated, org); err != nil {
		return Org{}, err
	}
	if err := s.emitMember(ctx, tx, EventMemberAdded, m, ""); err != nil {
		return Org{}, err
	}
	return org, nil
}

func personalOrgName(u User, requested string) string {
	if requested != "" {
		return requested
	}
	if u.Name != "" {
		return u.Name + "'s org"
	}
	return u.Email[:strings.IndexByte(u.Email, '@')] + "'s org"
}
