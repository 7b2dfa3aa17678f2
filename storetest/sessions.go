package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/latchkey/latchkey"
	"github.com/latchkey/latchkey/secret"
)

func testSessions(t *testing.T, st latchkey.Store) {
	c := ctx(t)
	w := newWorld(t, st, "ses")
	got, err := st.SessionByID(c, w.Session.ID)
	wantErr(t, "SessionByID", err, nil)
	checkSession(t, "SessionByID", got, w.Session)
	if !got.RevokedAt.IsZero() {
		t.Errorf("a new session reads back revoked at %v", got.RevokedAt)
	}
	_, err = st.SessionByID(c, "ses_missing")
	wantErr(t, "SessionByID of a missing session", err, latchkey.ErrNotFound)
	wantErr(t, "CreateSession twice", st.CreateSession(c, w.Session), latchkey.ErrConflict)

	other := newOrg(t, st, "ses-other")
	join(t, st, w.User, other, latchkey.RoleMember, time.Minute)
	x := w.Session
	x.OrgID = other.ID
	x.LastSeenAt = base.Add(time.Minute)
	x.ExpiresAt = base.Add(48 * time.Hour)
	x.AuthenticatedAt = base.Add(2 * time.Minute)
	x.RevokedAt = base.Add(3 * time.Minute)
	wantErr(t, "UpdateSession", st.UpdateSession(c, x), nil)
	got, err = st.SessionByID(c, x.ID)
	wantErr(t, "SessionByID after update", err, nil)
	checkSession(t, "after UpdateSession", got, x)
	if got.Live(base.Add(time.Hour)) {
		t.Error("a revoked session is Live")
	}
	wantErr(t, "UpdateSession of a missing session", st.UpdateSession(c, latchkey.Session{ID: "ses_missing", OrgID: other.ID}), latchkey.ErrNotFound)

	// A stale copy (read before a concurrent logout) cannot un-revoke it,
	// nor move its revocation time.
	stale := x
	stale.RevokedAt = time.Time{}
	stale.LastSeenAt = base.Add(time.Hour)
	wantErr(t, "UpdateSession with a stale copy", st.UpdateSession(c, stale), nil)
	got, _ = st.SessionByID(c, x.ID)
	sameTime(t, "revoked_at after a stale write", got.RevokedAt, x.RevokedAt)
	sameTime(t, "last_seen_at after a stale write", got.LastSeenAt, stale.LastSeenAt)
	later := x
	later.RevokedAt = base.Add(5 * time.Hour)
	wantErr(t, "UpdateSession revoking again", st.UpdateSession(c, later), nil)
	got, _ = st.SessionByID(c, x.ID)
	sameTime(t, "revoked_at after revoking again", got.RevokedAt, x.RevokedAt)
}

// testExtendSession: a refresh moves a live session's last use and expiry
// and nothing else; a revoked or missing session is ErrNotFound.
func testExtendSession(t *testing.T, st latchkey.Store) {
	c := ctx(t)
	w := newWorld(t, st, "extend")
	x := w.Session
	x.LastSeenAt, x.ExpiresAt = base.Add(time.Hour), base.Add(48*time.Hour)
	wantErr(t, "ExtendSession", st.ExtendSession(c, x.ID, x.LastSeenAt, x.ExpiresAt), nil)
	got, err := st.SessionByID(c, x.ID)
	wantErr(t, "SessionByID", err, nil)
	checkSession(t, "after ExtendSession", got, x)
	wantErr(t, "ExtendSession of a missing session", st.ExtendSession(c, "ses_missing", x.LastSeenAt, x.ExpiresAt), latchkey.ErrNotFound)
	revoked := newSession(t, st, w.User, w.Org, time.Minute)
	revoked.RevokedAt = base.Add(2 * time.Minute)
	wantErr(t, "UpdateSession", st.UpdateSession(c, revoked), nil)
	wantErr(t, "ExtendSession of a revoked session", st.ExtendSession(c, revoked.ID, x.LastSeenAt, x.ExpiresAt), latchkey.ErrNotFound)
	got, err = st.SessionByID(c, revoked.ID)
	wantErr(t, "SessionByID", err, nil)
	checkSession(t, "revoked session after ExtendSession", got, revoked)
}

func testActiveAndRevoke(t *testing.T, st latchkey.Store) {
	c := ctx(t)
	w := newWorld(t, st, "act")
	stranger := newWorld(t, st, "stranger")
	older := w.Session
	newer := newSession(t, st, w.User, w.Org, time.Minute)
	expired := newSession(t, st, w.User, w.Org, 2*time.Minute)
	expired.ExpiresAt = base.Add(time.Hour)
	wantErr(t, "UpdateSession", st.UpdateSession(c, expired), nil)
	revoked := newSession(t, st, w.User, w.Org, 3*time.Minute)
	revoked.RevokedAt = base.Add(4 * time.Minute)
	wantErr(t, "UpdateSession", st.UpdateSession(c, revoked), nil)

	now := base.Add(2 * time.Hour)
	list, err := st.ActiveSessions(c, w.User.ID, now)
	wantErr(t, "ActiveSessions", err, nil)
	if ids := sessionIDs(list); len(ids) != 2 || ids[0] != newer.ID || ids[1] != older.ID {
		t.Fatalf("ActiveSessions = %v, want [%s %s] (live ones, newest first)", ids, newer.ID, older.ID)
	}

	keepAt := base.Add(5 * time.Hour)
	wantErr(t, "RevokeUserSessions", st.RevokeUserSessions(c, w.User.ID, newer.ID, keepAt), nil)
	list, err = st.ActiveSessions(c, w.User.ID, now)
	wantErr(t, "ActiveSessions", err, nil)
	if ids := sessionIDs(list); len(ids) != 1 || ids[0] != newer.ID {
		t.Errorf("after RevokeUserSessions keeping %s: ActiveSessions = %v", newer.ID, ids)
	}
	got, _ := st.SessionByID(c, older.ID)
	sameTime(t, "revoked_at of a revoked session", got.RevokedAt, keepAt)
	got, _ = st.SessionByID(c, revoked.ID)
	sameTime(t, "revoked_at of an already revoked session (unchanged)", got.RevokedAt, revoked.RevokedAt)
	if list, _ := st.ActiveSessions(c, stranger.User.ID, now); len(list) != 1 {
		t.Errorf("another user's sessions were touched: %v", sessionIDs(list))
	}
	// With nothing kept, every session goes.
	wantErr(t, "RevokeUserSessions all", st.RevokeUserSessions(c, w.User.ID, "", keepAt), nil)
	if list, _ := st.ActiveSessions(c, w.User.ID, now); len(list) != 0 {
		t.Errorf("after revoking all: ActiveSessions = %v", sessionIDs(list))
	}
}

func testSessionAuth(t *testing.T, st latchkey.Store) {
	c := ctx(t)
	w := newWorld(t, st, "auth")
	a, err := st.SessionAuth(c, w.Session.ID)
	wantErr(t, "SessionAuth", err, nil)
	// Only what an AuthContext needs is read (latchkey.SessionAuth).
	ws, wu := w.Session, w.User
	ws.CreatedAt, ws.LastSeenAt, ws.IP, ws.UserAgent, wu.UpdatedAt = time.Time{}, time.Time{}, "", "", time.Time{}
	checkSession(t, "SessionAuth.Session", a.Session, ws)
	checkUser(t, "SessionAuth.User", a.User, wu)
	if a.Org.ID != w.Org.ID || a.Org.Name != w.Org.Name || a.Org.Slug != w.Org.Slug || a.Role != latchkey.RoleOwner {
		t.Errorf("SessionAuth org/role = %+v %q, want %+v owner", a.Org, a.Role, w.Org)
	}
	_, err = st.SessionAuth(c, "ses_missing")
	wantErr(t, "SessionAuth of a missing session", err, latchkey.ErrNotFound)
	err = st.Tx(c, func(tx latchkey.Store) error {
		in, err := tx.SessionAuth(c, w.Session.ID)
		if err == nil && (in.Session.UserID != w.User.ID || in.Org.Slug != w.Org.Slug || in.User.Email != w.User.Email) {
			t.Errorf("SessionAuth in a transaction = %+v", in)
		}
		return err
	})
	wantErr(t, "SessionAuth in a transaction", err, nil)

	// A revoked session is still found, with its revocation, so callers can refuse it.
	x := w.Session
	x.RevokedAt = base.Add(time.Minute)
	wantErr(t, "UpdateSession", st.UpdateSession(c, x), nil)
	a, err = st.SessionAuth(c, x.ID)
	wantErr(t, "SessionAuth of a revoked session", err, nil)
	sameTime(t, "SessionAuth revoked_at", a.Session.RevokedAt, x.RevokedAt)

	// A session in an org the user has left is not authenticated.
	u := newUser(t, st, "left@example.com")
	o := newOrg(t, st, "left")
	join(t, st, u, o, latchkey.RoleMember, 0)
	other := newOrg(t, st, "left-other")
	s := newSession(t, st, u, other, 0)
	_, err = st.SessionAuth(c, s.ID)
	wantErr(t, "SessionAuth without a membership", err, latchkey.ErrNotFound)
}

func testRefreshTokens(t *testing.T, st latchkey.Store) {
	c := ctx(t)
	w := newWorld(t, st, "rt")
	parent := latchkey.RefreshToken{Hash: secret.Hash("one"), SessionID: w.Session.ID, CreatedAt: base, ExpiresAt: base.Add(time.Hour)}
	child := latchkey.RefreshToken{Hash: secret.Hash("two"), SessionID: w.Session.ID, ParentHash: parent.Hash, CreatedAt: base.Add(time.Second), ExpiresAt: base.Add(2 * time.Hour)}
	wantErr(t, "CreateRefreshToken", st.CreateRefreshToken(c, parent), nil)
	wantErr(t, "CreateRefreshToken child", st.CreateRefreshToken(c, child), nil)
	wantErr(t, "CreateRefreshToken twice", st.CreateRefreshToken(c, parent), latchkey.ErrConflict)

	err := st.Tx(c, func(tx latchkey.Store) error {
		ses, err := tx.SessionOfRefreshToken(c, child.Hash)
		if err != nil {
			return err
		}
		checkSession(t, "SessionOfRefreshToken", ses, w.Session)
		got, err := tx.RefreshTokenForUpdate(c, child.Hash)
		if err != nil {
			return err
		}
		if got.Hash != child.Hash || got.SessionID != child.SessionID || got.ParentHash != parent.Hash || !got.RotatedAt.IsZero() {
			t.Errorf("RefreshTokenForUpdate = %+v, want %+v", got, child)
		}
		sameTime(t, "refresh CreatedAt", got.CreatedAt, child.CreatedAt)
		sameTime(t, "refresh ExpiresAt", got.ExpiresAt, child.ExpiresAt)
		return tx.MarkRefreshTokenRotated(c, child.Hash, base.Add(time.Minute))
	})
	wantErr(t, "Tx", err, nil)
	got, err := st.RefreshTokenForUpdate(c, child.Hash)
	wantErr(t, "RefreshTokenForUpdate outside Tx", err, nil)
	sameTime(t, "RotatedAt", got.RotatedAt, base.Add(time.Minute))
	if got, _ := st.RefreshTokenForUpdate(c, parent.Hash); got.ParentHash != "" || !got.RotatedAt.IsZero() {
		t.Errorf("the root token changed: %+v", got)
	}
	_, err = st.RefreshTokenForUpdate(c, secret.Hash("missing"))
	wantErr(t, "RefreshTokenForUpdate of a missing token", err, latchkey.ErrNotFound)
	_, err = st.SessionOfRefreshToken(c, secret.Hash("missing"))
	wantErr(t, "SessionOfRefreshToken of a missing token", err, latchkey.ErrNotFound)
	wantErr(t, "MarkRefreshTokenRotated of a missing token", st.MarkRefreshTokenRotated(c, secret.Hash("missing"), base), latchkey.ErrNotFound)
}

// testRefreshTokenLock: a token read for update inside Tx stays locked
// until that transaction ends, so a second transaction reading it sees the
// first one's rotation (the basis of refresh rotation between nodes).
func testRefreshTokenLock(t *testing.T, st latchkey.Store) {
	c := ctx(t)
	w := newWorld(t, st, "lock")
	rt := latchkey.RefreshToken{Hash: secret.Hash("locked"), SessionID: w.Session.ID, CreatedAt: base, ExpiresAt: base.Add(time.Hour)}
	wantErr(t, "CreateRefreshToken", st.CreateRefreshToken(c, rt), nil)
	rotated := base.Add(time.Minute)
	// lock reads the session and the token as a refresh does, locking both.
	lock := func(tx latchkey.Store) (latchkey.Session, latchkey.RefreshToken, error) {
		ses, err := tx.SessionOfRefreshToken(c, rt.Hash)
		if err != nil {
			return ses, latchkey.RefreshToken{}, err
		}
		got, err := tx.RefreshTokenForUpdate(c, rt.Hash)
		return ses, got, err
	}
	locked := make(chan struct{})
	second := make(chan error, 1)
	go func() {
		<-locked
		second <- st.Tx(c, func(tx latchkey.Store) error {
			ses, got, err := lock(tx)
			if err != nil {
				return err
			}
			if !ses.LastSeenAt.Equal(rotated) || !got.RotatedAt.Equal(rotated) {
				return fmt.Errorf("the second transaction read before the first committed: session last seen %v, token rotated %v", ses.LastSeenAt, got.RotatedAt)
			}
			return nil
		})
	}()
	err := st.Tx(c, func(tx latchkey.Store) error {
		ses, _, err := lock(tx)
		if err != nil {
			return err
		}
		close(locked)
		// Give the second transaction every chance to read past the locks.
		time.Sleep(50 * time.Millisecond)
		ses.LastSeenAt = rotated
		if err := tx.UpdateSession(c, ses); err != nil {
			return err
		}
		return tx.MarkRefreshTokenRotated(c, rt.Hash, rotated)
	})
	wantErr(t, "first Tx", err, nil)
	wantErr(t, "second Tx", <-second, nil)
}

func sessionIDs(list []latchkey.Session) []string {
	var ids []string
	for _, s := range list {
		ids = append(ids, s.ID)
	}
	return ids
}

func checkSession(t *testing.T, what string, got, want latchkey.Session) {
	t.Helper()
	if got.ID != want.ID || got.UserID != want.UserID || got.OrgID != want.OrgID || got.IP != want.IP || got.UserAgent != want.UserAgent {
		t.Errorf("%s: got %+v, want %+v", what, got, want)
	}
	sameTime(t, what+" CreatedAt", got.CreatedAt, want.CreatedAt)
	sameTime(t, what+" LastSeenAt", got.LastSeenAt, want.LastSeenAt)
	sameTime(t, what+" ExpiresAt", got.ExpiresAt, want.ExpiresAt)
	sameTime(t, what+" AuthenticatedAt", got.AuthenticatedAt, want.AuthenticatedAt)
	sameTime(t, what+" RevokedAt", got.RevokedAt, want.RevokedAt)
}
