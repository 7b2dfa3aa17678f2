package storetest

import (
	"testing"
	"time"

	"github.com/latchkey/latchkey"
	"github.com/latchkey/latchkey/secret"
)

func testUsers(t *testing.T, st latchkey.Store) {
	c := ctx(t)
	u := newUser(t, st, "ada@example.com")
	for _, get := range []struct {
		name string
		fn   func() (latchkey.User, error)
	}{
		{"UserByID", func() (latchkey.User, error) { return st.UserByID(c, u.ID) }},
		{"UserByEmail", func() (latchkey.User, error) { return st.UserByEmail(c, u.Email) }},
	} {
		got, err := get.fn()
		wantErr(t, get.name, err, nil)
		checkUser(t, get.name, got, u)
	}
	_, err := st.UserByID(c, "usr_missing")
	wantErr(t, "UserByID of a missing user", err, latchkey.ErrNotFound)
	_, err = st.UserByEmail(c, "nobody@example.com")
	wantErr(t, "UserByEmail of a missing user", err, latchkey.ErrNotFound)

	// A user without a password stores none.
	nopw := latchkey.User{ID: secret.ID("usr_"), Email: "nopw@example.com", CreatedAt: base, UpdatedAt: base}
	wantErr(t, "CreateUser without password", st.CreateUser(c, nopw), nil)
	got, err := st.UserByID(c, nopw.ID)
	wantErr(t, "UserByID", err, nil)
	if got.HasPassword() || got.Name != "" || got.EmailVerified {
		t.Errorf("password-less user read back as %+v", got)
	}

	// UpdateUser writes every mutable column, and can clear the password.
	u.Email, u.EmailVerified, u.Name, u.PasswordHash, u.UpdatedAt = "ada2@example.com", true, "Ada L.", "", base.Add(time.Hour)
	wantErr(t, "UpdateUser", st.UpdateUser(c, u), nil)
	got, err = st.UserByEmail(c, "ada2@example.com")
	wantErr(t, "UserByEmail after update", err, nil)
	checkUser(t, "after UpdateUser", got, u)
	_, err = st.UserByEmail(c, "ada@example.com")
	wantErr(t, "old email after update", err, latchkey.ErrNotFound)
	wantErr(t, "UpdateUser of a missing user", st.UpdateUser(c, latchkey.User{ID: "usr_missing", Email: "m@example.com"}), latchkey.ErrNotFound)
	// Moving onto a taken address conflicts.
	u.Email = nopw.Email
	wantErr(t, "UpdateUser onto a taken email", st.UpdateUser(c, u), latchkey.ErrConflict)

	wantErr(t, "DeleteUser", st.DeleteUser(c, nopw.ID), nil)
	_, err = st.UserByID(c, nopw.ID)
	wantErr(t, "UserByID after delete", err, latchkey.ErrNotFound)
	wantErr(t, "DeleteUser twice", st.DeleteUser(c, nopw.ID), latchkey.ErrNotFound)
}

// testUserEmailConflicts: emails are unique, case-insensitively, and IDs too.
func testUserEmailConflicts(t *testing.T, st latchkey.Store) {
	c := ctx(t)
	u := newUser(t, st, "grace@example.com")
	for _, tc := range []struct {
		name string
		user latchkey.User
	}{
		{"same email", latchkey.User{ID: secret.ID("usr_"), Email: "grace@example.com"}},
		{"email in another case", latchkey.User{ID: secret.ID("usr_"), Email: "Grace@Example.COM"}},
		{"same id", latchkey.User{ID: u.ID, Email: "other@example.com"}},
	} {
		tc.user.CreatedAt, tc.user.UpdatedAt = base, base
		wantErr(t, "CreateUser with "+tc.name, st.CreateUser(c, tc.user), latchkey.ErrConflict)
	}
}

func checkUser(t *testing.T, what string, got, want latchkey.User) {
	t.Helper()
	if got.ID != want.ID || got.Email != want.Email || got.EmailVerified != want.EmailVerified ||
		got.Name != want.Name || got.PasswordHash != want.PasswordHash {
		t.Errorf("%s: got %+v, want %+v", what, got, want)
	}
	sameTime(t, what+" CreatedAt", got.CreatedAt, want.CreatedAt)
	sameTime(t, what+" UpdatedAt", got.UpdatedAt, want.UpdatedAt)
}
