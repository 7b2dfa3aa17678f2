package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/latchkey/latchkey"
	"github.com/latchkey/latchkey/secret"
)

func testOrgs(t *testing.T, st latchkey.Store) {
	c := ctx(t)
	o := newOrg(t, st, "acme")
	got, err := st.OrgByID(c, o.ID)
	wantErr(t, "OrgByID", err, nil)
	if got.ID != o.ID || got.Name != o.Name || got.Slug != o.Slug {
		t.Errorf("OrgByID = %+v, want %+v", got, o)
	}
	sameTime(t, "org CreatedAt", got.CreatedAt, o.CreatedAt)
	_, err = st.OrgByID(c, "org_missing")
	wantErr(t, "OrgByID of a missing org", err, latchkey.ErrNotFound)

	dup := latchkey.Org{ID: secret.ID("org_"), Name: "Other", Slug: "acme", CreatedAt: base}
	wantErr(t, "CreateOrg with a taken slug", st.CreateOrg(c, dup), latchkey.ErrConflict)
	dup.Slug = "acme-2"
	wantErr(t, "CreateOrg with a free slug", st.CreateOrg(c, dup), nil)

	// Inside a transaction a taken slug leaves the transaction usable, so
	// the caller can retry with another slug (as sign-up does).
	err = st.Tx(c, func(tx latchkey.Store) error {
		retry := latchkey.Org{ID: secret.ID("org_"), Name: "Acme", Slug: "acme", CreatedAt: base}
		if err := tx.CreateOrg(c, retry); !errors.Is(err, latchkey.ErrConflict) {
			t.Errorf("CreateOrg with a taken slug in Tx: %v, want ErrConflict", err)
		}
		retry.Slug = "acme-3"
		return tx.CreateOrg(c, retry)
	})
	wantErr(t, "retry after a slug conflict in the same Tx", err, nil)

	wantErr(t, "DeleteOrg", st.DeleteOrg(c, o.ID), nil)
	_, err = st.OrgByID(c, o.ID)
	wantErr(t, "OrgByID after delete", err, latchkey.ErrNotFound)
	wantErr(t, "DeleteOrg twice", st.DeleteOrg(c, o.ID), latchkey.ErrNotFound)
}

func testMemberships(t *testing.T, st latchkey.Store) {
	c := ctx(t)
	u := newUser(t, st, "m@example.com")
	v := newUser(t, st, "v@example.com")
	a, b := newOrg(t, st, "a"), newOrg(t, st, "b")
	mb := join(t, st, u, b, latchkey.RoleMember, time.Minute)
	ma := join(t, st, u, a, latchkey.RoleOwner, 2*time.Minute)
	join(t, st, v, a, latchkey.RoleAdmin, 3*time.Minute)

	got, err := st.Membership(c, u.ID, a.ID)
	wantErr(t, "Membership", err, nil)
	if got.UserID != u.ID || got.OrgID != a.ID || got.Role != latchkey.RoleOwner {
		t.Errorf("Membership = %+v, want %+v", got, ma)
	}
	sameTime(t, "membership CreatedAt", got.CreatedAt, ma.CreatedAt)
	_, err = st.Membership(c, v.ID, b.ID)
	wantErr(t, "Membership of a non-member", err, latchkey.ErrNotFound)
	wantErr(t, "CreateMembership twice", st.CreateMembership(c, mb), latchkey.ErrConflict)

	ms, err := st.MembershipsOfUser(c, u.ID)
	wantErr(t, "MembershipsOfUser", err, nil)
	if len(ms) != 2 || ms[0].OrgID != b.ID || ms[1].OrgID != a.ID {
		t.Errorf("MembershipsOfUser = %+v, want b then a (oldest first)", ms)
	}
	members, err := st.Members(c, a.ID)
	wantErr(t, "Members", err, nil)
	if len(members) != 2 || members[0].UserID != u.ID || members[1].UserID != v.ID || members[1].Role != latchkey.RoleAdmin {
		t.Errorf("Members(a) = %+v, want u (owner) then v (admin)", members)
	}
	for org, want := range map[string]int{a.ID: 2, b.ID: 1, "org_missing": 0} {
		n, err := st.CountMembers(c, org)
		wantErr(t, "CountMembers", err, nil)
		if n != want {
			t.Errorf("CountMembers(%s) = %d, want %d", org, n, want)
		}
	}
	if ms, err := st.MembershipsOfUser(c, "usr_missing"); err != nil || len(ms) != 0 {
		t.Errorf("MembershipsOfUser(missing) = %v, %v; want none", ms, err)
	}
}

// testFirstMember: an org's first member is the earliest membership, not
// the first row inserted.
func testFirstMember(t *testing.T, st latchkey.Store) {
	c := ctx(t)
	o := newOrg(t, st, "first")
	_, err := st.FirstMember(c, o.ID)
	wantErr(t, "FirstMember of an empty org", err, latchkey.ErrNotFound)
	late := newUser(t, st, "late@example.com")
	early := newUser(t, st, "early@example.com")
	join(t, st, late, o, latchkey.RoleAdmin, time.Hour)
	join(t, st, early, o, latchkey.RoleOwner, time.Second)
	m, err := st.FirstMember(c, o.ID)
	wantErr(t, "FirstMember", err, nil)
	if m.UserID != early.ID || m.Role != latchkey.RoleOwner {
		t.Errorf("FirstMember = %+v, want the earliest membership (%s)", m, early.ID)
	}
	members, err := st.Members(c, o.ID)
	wantErr(t, "Members", err, nil)
	if len(members) != 2 || members[0].UserID != early.ID {
		t.Errorf("Members = %+v, want oldest first", members)
	}
	// Another org's members do not count.
	other := newOrg(t, st, "other")
	join(t, st, newUser(t, st, "x@example.com"), other, latchkey.RoleOwner, -time.Hour)
	if m, _ := st.FirstMember(c, o.ID); m.UserID != early.ID {
		t.Errorf("FirstMember after another org's earlier join = %s, want %s", m.UserID, early.ID)
	}
}
