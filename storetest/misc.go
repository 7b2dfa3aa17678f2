package storetest

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/latchkey/latchkey"
	"github.com/latchkey/latchkey/secret"
)

func testAuditEvents(t *testing.T, st latchkey.Store) {
	c := ctx(t)
	second := latchkey.AuditEvent{ID: secret.ID("aud_"), ActorID: "usr_a", OrgID: "org_a", Action: "user.login", Target: "ses_1",
		IP: "192.0.2.9", UserAgent: "ua", Data: json.RawMessage(`{"n":2}`), CreatedAt: base.Add(time.Second)}
	first := second
	first.ID, first.Action, first.Data, first.CreatedAt = secret.ID("aud_"), "user.registered", json.RawMessage(`{}`), base
	other := first
	other.ID, other.ActorID = secret.ID("aud_"), "usr_b"
	for _, e := range []latchkey.AuditEvent{second, first, other} {
		wantErr(t, "AddAuditEvent", st.AddAuditEvent(c, e), nil)
	}
	list, err := st.AuditEvents(c, "usr_a")
	wantErr(t, "AuditEvents", err, nil)
	if len(list) != 2 || list[0].ID != first.ID || list[1].ID != second.ID {
		t.Fatalf("AuditEvents = %+v, want first then second of usr_a", list)
	}
	g := list[1]
	if g.OrgID != second.OrgID || g.Action != second.Action || g.Target != second.Target || g.IP != second.IP ||
		g.UserAgent != second.UserAgent || string(g.Data) != string(second.Data) {
		t.Errorf("AuditEvents[1] = %+v, want %+v", g, second)
	}
	sameTime(t, "audit CreatedAt", g.CreatedAt, second.CreatedAt)
	if list, _ := st.AuditEvents(c, "usr_none"); len(list) != 0 {
		t.Errorf("AuditEvents of nobody = %+v", list)
	}
}

func testSigningKeys(t *testing.T, st latchkey.Store) {
	c := ctx(t)
	if list, err := st.SigningKeys(c); err != nil || len(list) != 0 {
		t.Fatalf("SigningKeys of a fresh store = %v, %v; want none", list, err)
	}
	key := func(slot int, kid string) latchkey.SigningKey {
		_, priv, err := ed25519.GenerateKey(nil)
		if err != nil {
			t.Fatal(err)
		}
		return latchkey.SigningKey{Slot: slot, KID: kid, PrivateKey: priv, CreatedAt: base}
	}
	k2, k1, loser := key(2, "kid-2"), key(1, "kid-1"), key(1, "kid-loser")
	wantErr(t, "CreateSigningKey slot 2", st.CreateSigningKey(c, k2), nil)
	wantErr(t, "CreateSigningKey slot 1", st.CreateSigningKey(c, k1), nil)
	// Two nodes starting at once both try slot 1: the second is a no-op.
	wantErr(t, "CreateSigningKey on a taken slot", st.CreateSigningKey(c, loser), nil)
	list, err := st.SigningKeys(c)
	wantErr(t, "SigningKeys", err, nil)
	if len(list) != 2 || list[0].Slot != 1 || list[1].Slot != 2 {
		t.Fatalf("SigningKeys = %+v, want slots 1 and 2 in order", list)
	}
	if list[0].KID != "kid-1" || !bytes.Equal(list[0].PrivateKey, k1.PrivateKey) {
		t.Errorf("slot 1 holds %s, want the first key written (kid-1)", list[0].KID)
	}
	if !bytes.Equal(list[1].PrivateKey, k2.PrivateKey) {
		t.Error("slot 2's private key did not round-trip")
	}
	sameTime(t, "signing key CreatedAt", list[0].CreatedAt, base)
}

var errBoom = errors.New("boom")

func testTx(t *testing.T, st latchkey.Store) {
	c := ctx(t)
	u := latchkey.User{ID: secret.ID("usr_"), Email: "tx@example.com", CreatedAt: base, UpdatedAt: base}
	err := st.Tx(c, func(tx latchkey.Store) error {
		if err := tx.CreateUser(c, u); err != nil {
			return err
		}
		if _, err := tx.UserByID(c, u.ID); err != nil {
			t.Errorf("a transaction does not see its own write: %v", err)
		}
		return errBoom
	})
	if !errors.Is(err, errBoom) {
		t.Fatalf("Tx returned %v, want fn's error", err)
	}
	_, err = st.UserByID(c, u.ID)
	wantErr(t, "UserByID after a rolled-back Tx", err, latchkey.ErrNotFound)

	// A conflict inside Tx rolls back everything written before it.
	existing := newUser(t, st, "exists@example.com")
	err = st.Tx(c, func(tx latchkey.Store) error {
		if err := tx.CreateOrg(c, latchkey.Org{ID: "org_tx", Name: "tx", Slug: "tx", CreatedAt: base}); err != nil {
			return err
		}
		return tx.CreateUser(c, latchkey.User{ID: secret.ID("usr_"), Email: existing.Email, CreatedAt: base, UpdatedAt: base})
	})
	wantErr(t, "Tx with a conflict", err, latchkey.ErrConflict)
	_, err = st.OrgByID(c, "org_tx")
	wantErr(t, "org written before the conflict", err, latchkey.ErrNotFound)

	// A nested Tx joins the outer one; commit makes both visible.
	err = st.Tx(c, func(tx latchkey.Store) error {
		if err := tx.CreateUser(c, u); err != nil {
			return err
		}
		return tx.Tx(c, func(inner latchkey.Store) error {
			return inner.CreateOrg(c, latchkey.Org{ID: "org_nested", Name: "n", Slug: "nested", CreatedAt: base})
		})
	})
	wantErr(t, "committed Tx", err, nil)
	_, err = st.UserByID(c, u.ID)
	wantErr(t, "user after commit", err, nil)
	_, err = st.OrgByID(c, "org_nested")
	wantErr(t, "org of a nested Tx after commit", err, nil)
	wantErr(t, "Ping", st.Ping(c), nil)
}

// testTxPanic: a panic inside fn must not leave the transaction (and on
// SQLite the one writer connection) held.
func testTxPanic(t *testing.T, st latchkey.Store) {
	c := ctx(t)
	func() {
		defer func() {
			if recover() == nil {
				t.Error("the panic inside Tx was swallowed")
			}
		}()
		st.Tx(c, func(tx latchkey.Store) error {
			if err := tx.CreateOrg(c, latchkey.Org{ID: "org_panic", Name: "p", Slug: "panic", CreatedAt: base}); err != nil {
				return err
			}
			panic("handler bug")
		})
	}()
	tc, cancel := context.WithTimeout(c, 10*time.Second)
	defer cancel()
	err := st.Tx(tc, func(tx latchkey.Store) error {
		return tx.CreateOrg(tc, latchkey.Org{ID: "org_after", Name: "a", Slug: "after", CreatedAt: base})
	})
	wantErr(t, "Tx after a panicking Tx", err, nil)
	_, err = st.OrgByID(c, "org_panic")
	wantErr(t, "org written before the panic", err, latchkey.ErrNotFound)
}

func testDeleteUserCascades(t *testing.T, st latchkey.Store) {
	c := ctx(t)
	w := newWorld(t, st, "gone")
	keep := newWorld(t, st, "kept")
	join(t, st, w.User, keep.Org, latchkey.RoleMember, time.Minute)
	other := newSession(t, st, w.User, keep.Org, time.Minute)
	rt := latchkey.RefreshToken{Hash: secret.Hash("gone"), SessionID: w.Session.ID, CreatedAt: base, ExpiresAt: base.Add(time.Hour)}
	wantErr(t, "CreateRefreshToken", st.CreateRefreshToken(c, rt), nil)
	ch := newChallenge(t, st, "email_code", w.User.ID, "gone", 0)
	wantErr(t, "AddAuditEvent", st.AddAuditEvent(c, latchkey.AuditEvent{ID: secret.ID("aud_"), ActorID: w.User.ID, Action: "x", Data: json.RawMessage("{}"), CreatedAt: base}), nil)

	wantErr(t, "DeleteUser", st.DeleteUser(c, w.User.ID), nil)
	for _, s := range []string{w.Session.ID, other.ID} {
		_, err := st.SessionByID(c, s)
		wantErr(t, "session of a deleted user", err, latchkey.ErrNotFound)
	}
	_, err := st.RefreshTokenForUpdate(c, rt.Hash)
	wantErr(t, "refresh token of a deleted user", err, latchkey.ErrNotFound)
	_, err = st.ChallengeByID(c, ch.ID)
	wantErr(t, "challenge of a deleted user", err, latchkey.ErrNotFound)
	_, err = st.Membership(c, w.User.ID, keep.Org.ID)
	wantErr(t, "membership of a deleted user", err, latchkey.ErrNotFound)
	if n, _ := st.CountMembers(c, keep.Org.ID); n != 1 {
		t.Errorf("the other org has %d members, want 1", n)
	}
	// Orgs are not the store's to delete; audit events outlive the user.
	_, err = st.OrgByID(c, w.Org.ID)
	wantErr(t, "the deleted user's org", err, nil)
	if list, _ := st.AuditEvents(c, w.User.ID); len(list) != 1 {
		t.Errorf("audit events of a deleted user: %d, want 1 (kept)", len(list))
	}
	_, err = st.SessionByID(c, keep.Session.ID)
	wantErr(t, "another user's session", err, nil)
}

func testDeleteOrgCascades(t *testing.T, st latchkey.Store) {
	c := ctx(t)
	w := newWorld(t, st, "org-gone")
	home := newOrg(t, st, "home")
	join(t, st, w.User, home, latchkey.RoleOwner, time.Minute)
	homeSession := newSession(t, st, w.User, home, time.Minute)
	rt := latchkey.RefreshToken{Hash: secret.Hash("org-gone"), SessionID: w.Session.ID, CreatedAt: base, ExpiresAt: base.Add(time.Hour)}
	wantErr(t, "CreateRefreshToken", st.CreateRefreshToken(c, rt), nil)

	wantErr(t, "DeleteOrg", st.DeleteOrg(c, w.Org.ID), nil)
	_, err := st.Membership(c, w.User.ID, w.Org.ID)
	wantErr(t, "membership in a deleted org", err, latchkey.ErrNotFound)
	_, err = st.SessionByID(c, w.Session.ID)
	wantErr(t, "session in a deleted org", err, latchkey.ErrNotFound)
	_, err = st.RefreshTokenForUpdate(c, rt.Hash)
	wantErr(t, "refresh token of a session in a deleted org", err, latchkey.ErrNotFound)
	_, err = st.UserByID(c, w.User.ID)
	wantErr(t, "the member of a deleted org", err, nil)
	_, err = st.SessionByID(c, homeSession.ID)
	wantErr(t, "session in another org", err, nil)
}
