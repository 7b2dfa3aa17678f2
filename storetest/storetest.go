// Package storetest is the contract suite of latchkey.Store: every
// implementation (SQLite and PostgreSQL through sqlstore) must pass it.
// Each area keeps its checks in its own file and lists them in suites, so
// an area that adds Store methods adds one file and one line here.
package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/latchkey/latchkey"
	"github.com/latchkey/latchkey/secret"
)

// Opener returns a fresh, migrated, empty store for one test; it cleans up
// with t.Cleanup.
type Opener func(t *testing.T) latchkey.Store

// A suite is one area's checks, run against a fresh store.
type suite struct {
	name string
	run  func(t *testing.T, st latchkey.Store)
}

// suites lists every area's checks. Add yours here.
var suites = []suite{
	{"Users", testUsers},
	{"UserEmailConflicts", testUserEmailConflicts},
	{"Orgs", testOrgs},
	{"Memberships", testMemberships},
	{"FirstMember", testFirstMember},
	{"Sessions", testSessions},
	{"ActiveAndRevoke", testActiveAndRevoke},
	{"SessionAuth", testSessionAuth},
	{"ExtendSession", testExtendSession},
	{"RefreshTokens", testRefreshTokens},
	{"RefreshTokenLock", testRefreshTokenLock},
	{"Challenges", testChallenges},
	{"AuditEvents", testAuditEvents},
	{"SigningKeys", testSigningKeys},
	{"Tx", testTx},
	{"TxPanic", testTxPanic},
	{"DeleteUserCascades", testDeleteUserCascades},
	{"DeleteOrgCascades", testDeleteOrgCascades},
	{"AttemptCounters", testAttemptCounters},
}

// Run runs the whole suite, each area as a subtest on a store of its own.
func Run(t *testing.T, open Opener) {
	for _, s := range suites {
		t.Run(s.name, func(t *testing.T) { s.run(t, open(t)) })
	}
}

// base is a fixed instant at the microsecond precision stores keep.
var base = time.Date(2026, 1, 2, 3, 4, 5, 678901000, time.UTC)

func ctx(t *testing.T) context.Context { return t.Context() }

// wantErr fails unless err is target (ErrNotFound, ErrConflict or nil).
func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if target == nil {
		if err != nil {
			t.Fatalf("%s: unexpected error %v", what, err)
		}
		return
	}
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want %v", what, err, target)
	}
}

// newUser creates a user with a unique email under domain example.com.
func newUser(t *testing.T, st latchkey.Store, email string) latchkey.User {
	t.Helper()
	u := latchkey.User{ID: secret.ID("usr_"), Email: email, Name: "N " + email, PasswordHash: "$argon2id$x", CreatedAt: base, UpdatedAt: base}
	wantErr(t, "CreateUser", st.CreateUser(ctx(t), u), nil)
	return u
}

// newOrg creates an org with the given slug.
func newOrg(t *testing.T, st latchkey.Store, slug string) latchkey.Org {
	t.Helper()
	o := latchkey.Org{ID: secret.ID("org_"), Name: "Org " + slug, Slug: slug, CreatedAt: base}
	wantErr(t, "CreateOrg", st.CreateOrg(ctx(t), o), nil)
	return o
}

// join makes u a member of o with role, at base+offset.
func join(t *testing.T, st latchkey.Store, u latchkey.User, o latchkey.Org, role latchkey.Role, offset time.Duration) latchkey.Membership {
	t.Helper()
	m := latchkey.Membership{UserID: u.ID, OrgID: o.ID, Role: role, CreatedAt: base.Add(offset)}
	wantErr(t, "CreateMembership", st.CreateMembership(ctx(t), m), nil)
	return m
}

// newSession creates a live session of u in o, expiring a day after base.
func newSession(t *testing.T, st latchkey.Store, u latchkey.User, o latchkey.Org, offset time.Duration) latchkey.Session {
	t.Helper()
	at := base.Add(offset)
	x := latchkey.Session{
		ID: secret.ID("ses_"), UserID: u.ID, OrgID: o.ID, CreatedAt: at, LastSeenAt: at,
		ExpiresAt: at.Add(24 * time.Hour), AuthenticatedAt: at, IP: "192.0.2.1", UserAgent: "storetest",
	}
	wantErr(t, "CreateSession", st.CreateSession(ctx(t), x), nil)
	return x
}

// world is a user who owns an org and has a session in it.
type world struct {
	User    latchkey.User
	Org     latchkey.Org
	Session latchkey.Session
}

func newWorld(t *testing.T, st latchkey.Store, name string) world {
	t.Helper()
	u := newUser(t, st, name+"@example.com")
	o := newOrg(t, st, name)
	join(t, st, u, o, latchkey.RoleOwner, 0)
	return world{u, o, newSession(t, st, u, o, 0)}
}

func sameTime(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if !got.Equal(want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}
