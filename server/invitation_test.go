package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/latchkeytest"
)

// invite has the owner's client invite email with role and returns the
// response and the token read from the mail.
func (e *mailEnv) invite(t *testing.T, owner *latchkeytest.Client, email, role string) (*latchkeytest.Response, string) {
	t.Helper()
	r := owner.Call("org.invitations.create", map[string]any{"email": email, "role": role})
	want(t, "invite "+email, r, http.StatusOK, "")
	msg := e.SMTP.Next(t, email)
	token := tokenOf(t, msg, e.URL+"/invite")
	if strings.Contains(string(r.Body), token) {
		t.Errorf("the invitation token appears in the API response")
	}
	return r, token
}

func TestInvitationOfANewUser(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		env := startMailEnv(t, db, nil)
		owner, ownerID, _ := env.register(t, "owner@example.com")
		orgID, _ := owner.Get("auth.me").Obj("org")["id"].(string)

		r, token := env.invite(t, owner, "New.Hire@Example.com", "admin")
		inv := r.Obj("invitation")
		id, _ := inv["id"].(string)
		if !strings.HasPrefix(id, "inv_") || inv["email"] != "new.hire@example.com" || inv["role"] != "admin" {
			t.Errorf("invitation: %s", r.Body)
		}
		expires, err := time.Parse(time.RFC3339, inv["expires_at"].(string))
		if err != nil || expires.Sub(env.Clock.Now()) < 7*24*time.Hour-time.Minute || expires.Sub(env.Clock.Now()) > 7*24*time.Hour+time.Minute {
			t.Errorf("expires_at %v is not 7 days away", inv["expires_at"])
		}
		msg := env.SMTP.Messages()[len(env.SMTP.Messages())-1]
		if !strings.Contains(msg.Subject, "owner@example.com") || !strings.Contains(msg.Text, "as admin") {
			t.Errorf("invitation mail: %q\n%s", msg.Subject, msg.Text)
		}
		list := owner.Get("org.invitations.list")
		if items, _ := list.JSON["invitations"].([]any); len(items) != 1 || items[0].(map[string]any)["id"] != id {
			t.Errorf("list: %s", list.Body)
		}

		guest := env.Client(t)
		want(t, "no password", guest.Call("auth.complete_invitation", map[string]any{"token": token}), http.StatusBadRequest, "invalid_request")
		want(t, "weak password", guest.Call("auth.complete_invitation", map[string]any{"token": token, "password": "short"}), http.StatusBadRequest, "weak_password")
		done := guest.Call("auth.complete_invitation", map[string]any{"token": token, "password": "a fine long password", "name": "Nell"})
		want(t, "accept", done, http.StatusOK, "")
		if u := done.Obj("user"); u["email"] != "new.hire@example.com" || u["email_verified"] != true || u["name"] != "Nell" || done.Str("access_token") == "" {
			t.Errorf("accepted: %s", done.Body)
		}
		me := guest.Get("auth.me")
		if me.Obj("org")["id"] != orgID || me.Str("role") != "admin" {
			t.Errorf("auth.me of the new member: %s", me.Body)
		}
		newID, _ := done.Obj("user")["id"].(string)
		ms, err := env.Store.MembershipsOfUser(context.Background(), newID)
		if err != nil || len(ms) != 1 {
			t.Errorf("the new user has %d memberships (%v), want only the inviting org", len(ms), err)
		}
		want(t, "the link again", env.Client(t).Call("auth.complete_invitation", map[string]any{"token": token, "password": "a fine long password"}), http.StatusBadRequest, "invalid_token")
		if items, _ := owner.Get("org.invitations.list").JSON["invitations"].([]any); len(items) != 0 {
			t.Errorf("an accepted invitation is still listed")
		}
		ev := env.PostHog.Next(t, "signup_completed") // the owner's, by password
		if ev.Properties["method"] != "password" || ev.DistinctID != ownerID {
			t.Errorf("first signup event: %+v", ev)
		}
		ev = env.PostHog.Next(t, "signup_completed")
		if ev.Properties["method"] != "invitation" || ev.DistinctID != newID {
			t.Errorf("invitation signup event: %+v", ev)
		}
		env.wantAudit(t, ownerID, "org.invitation_created")
		env.wantAudit(t, newID, "org.invitation_accepted")
	})
}

func TestInvitationOfAnExistingUser(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		env := startMailEnv(t, db, nil)
		owner, _, _ := env.register(t, "boss@example.com")
		orgID, _ := owner.Get("auth.me").Obj("org")["id"].(string)
		invitee, inviteeID, _ := env.register(t, "kim@example.com")
		stranger, _, _ := env.register(t, "lou@example.com")
		_, token := env.invite(t, owner, "kim@example.com", "member")

		want(t, "anonymous", env.Client(t).Call("auth.complete_invitation", map[string]any{"token": token}), http.StatusUnauthorized, "unauthenticated")
		want(t, "signed in as someone else", stranger.Call("auth.complete_invitation", map[string]any{"token": token}), http.StatusForbidden, "invitation_email_mismatch")
		done := invitee.Call("auth.complete_invitation", map[string]any{"token": token})
		want(t, "signed in as the invitee", done, http.StatusOK, "")
		if me := invitee.Get("auth.me"); me.Obj("org")["id"] != orgID || me.Str("role") != "member" || me.Obj("user")["id"] != inviteeID {
			t.Errorf("auth.me after accepting: %s", me.Body)
		}
		ms, _ := env.Store.MembershipsOfUser(context.Background(), inviteeID)
		if len(ms) != 2 {
			t.Errorf("the invitee has %d memberships, want their own org and the new one", len(ms))
		}
		want(t, "the link again", invitee.Call("auth.complete_invitation", map[string]any{"token": token}), http.StatusBadRequest, "invalid_token")
		want(t, "inviting a member", owner.Call("org.invitations.create", map[string]any{"email": "kim@example.com", "role": "member"}), http.StatusConflict, "already_member")
	})
}

func TestInvitationExpiresAndCanBeRevoked(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		env := startMailEnv(t, db, nil)
		owner, ownerID, _ := env.register(t, "max@example.com")
		revoked, revokedToken := env.invite(t, owner, "rev@example.com", "member")
		_, expiring := env.invite(t, owner, "exp@example.com", "member")
		_, replaced := env.invite(t, owner, "twice@example.com", "member")
		_, replacing := env.invite(t, owner, "twice@example.com", "admin")

		id := revoked.Obj("invitation")["id"]
		want(t, "revoke", owner.Call("org.invitations.revoke", map[string]any{"id": id}), http.StatusOK, "")
		want(t, "revoke again", owner.Call("org.invitations.revoke", map[string]any{"id": id}), http.StatusNotFound, "not_found")
		want(t, "revoked link", env.Client(t).Call("auth.complete_invitation", map[string]any{"token": revokedToken, "password": "a fine long password"}), http.StatusBadRequest, "invalid_token")
		want(t, "replaced link", env.Client(t).Call("auth.complete_invitation", map[string]any{"token": replaced, "password": "a fine long password"}), http.StatusBadRequest, "invalid_token")
		env.wantAudit(t, ownerID, "org.invitation_revoked")

		env.Clock.Advance(7*24*time.Hour + time.Minute)
		want(t, "expired link", env.Client(t).Call("auth.complete_invitation", map[string]any{"token": expiring, "password": "a fine long password"}), http.StatusBadRequest, "invalid_token")
		want(t, "expired replacement", env.Client(t).Call("auth.complete_invitation", map[string]any{"token": replacing, "password": "a fine long password"}), http.StatusBadRequest, "invalid_token")
		want(t, "refresh", owner.Call("auth.refresh", nil), http.StatusOK, "")
		if items, _ := owner.Get("org.invitations.list").JSON["invitations"].([]any); len(items) != 0 {
			t.Errorf("expired invitations are listed: %v", items)
		}
	})
}

func TestInvitationGuards(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		env := startMailEnv(t, db, nil)
		owner, _, _ := env.register(t, "ned@example.com")
		_, adminTok := env.invite(t, owner, "adm@example.com", "admin")
		admin := env.Client(t)
		want(t, "admin joins", admin.Call("auth.complete_invitation", map[string]any{"token": adminTok, "password": "a fine long password"}), http.StatusOK, "")
		_, memberTok := env.invite(t, owner, "mem@example.com", "member")
		member := env.Client(t)
		want(t, "member joins", member.Call("auth.complete_invitation", map[string]any{"token": memberTok, "password": "a fine long password"}), http.StatusOK, "")

		tests := []struct {
			name   string
			client *latchkeytest.Client
			body   map[string]any
			status int
			code   string
		}{
			{"member invites", member, map[string]any{"email": "x@example.com", "role": "member"}, http.StatusForbidden, "forbidden"},
			{"admin invites an owner", admin, map[string]any{"email": "x@example.com", "role": "owner"}, http.StatusForbidden, "forbidden"},
			{"unknown role", owner, map[string]any{"email": "x@example.com", "role": "king"}, http.StatusBadRequest, "invalid_request"},
			{"bad email", owner, map[string]any{"email": "x", "role": "member"}, http.StatusBadRequest, "invalid_request"},
			{"anonymous", env.Client(t), map[string]any{"email": "x@example.com", "role": "member"}, http.StatusUnauthorized, "unauthenticated"},
		}
		for _, tt := range tests {
			want(t, tt.name, tt.client.Call("org.invitations.create", tt.body), tt.status, tt.code)
		}
		want(t, "member lists invitations", member.Get("org.invitations.list"), http.StatusForbidden, "forbidden")
		want(t, "member revokes", member.Call("org.invitations.revoke", map[string]any{"id": "inv_x"}), http.StatusForbidden, "forbidden")
		want(t, "admin invites a member", admin.Call("org.invitations.create", map[string]any{"email": "y@example.com", "role": "member"}), http.StatusOK, "")
		want(t, "empty token", env.Client(t).Call("auth.complete_invitation", map[string]any{"token": ""}), http.StatusBadRequest, "invalid_request")
		want(t, "unknown token", env.Client(t).Call("auth.complete_invitation", map[string]any{"token": "nope", "password": "a fine long password"}), http.StatusBadRequest, "invalid_token")
		env.settle(t)
		env.SMTP.NoMessage(t, "x@example.com")
	})
}
