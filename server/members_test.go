package server_test

import (
	"net/http"
	"testing"

	"github.com/latchkey/latchkey/latchkeytest"
)

// team is an org with an owner, an admin and a member, each signed in.
type team struct {
	owner, admin, member       *latchkeytest.Client
	ownerID, adminID, memberID string
}

func (e *mailEnv) team(t *testing.T) team {
	t.Helper()
	var tm team
	tm.owner, tm.ownerID, _ = e.register(t, "olga@example.com")
	join := func(email, role string) (*latchkeytest.Client, string) {
		_, token := e.invite(t, tm.owner, email, role)
		c := e.Client(t)
		r := c.Call("auth.complete_invitation", map[string]any{"token": token, "password": "a fine long password"})
		want(t, "join as "+role, r, http.StatusOK, "")
		id, _ := r.Obj("user")["id"].(string)
		return c, id
	}
	tm.admin, tm.adminID = join("adam@example.com", "admin")
	tm.member, tm.memberID = join("mia@example.com", "member")
	return tm
}

func TestMembersList(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		env := startMailEnv(t, db, nil)
		tm := env.team(t)
		for _, c := range []*latchkeytest.Client{tm.owner, tm.admin} {
			r := c.Get("org.members.list")
			want(t, "list", r, http.StatusOK, "")
			items, _ := r.JSON["members"].([]any)
			if len(items) != 3 {
				t.Fatalf("members: %s", r.Body)
			}
			wantRows := [][2]string{{"olga@example.com", "owner"}, {"adam@example.com", "admin"}, {"mia@example.com", "member"}}
			for i, w := range wantRows {
				m := items[i].(map[string]any)
				if m["email"] != w[0] || m["role"] != w[1] || m["user_id"] == "" || m["created_at"] == "" {
					t.Errorf("member %d = %v, want %v", i, m, w)
				}
			}
		}
		want(t, "member lists", tm.member.Get("org.members.list"), http.StatusForbidden, "forbidden")
		want(t, "anonymous lists", env.Client(t).Get("org.members.list"), http.StatusUnauthorized, "unauthenticated")
	})
}

func TestMembersUpdateRole(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		env := startMailEnv(t, db, nil)
		tm := env.team(t)
		role := func(c *latchkeytest.Client, userID, role string) *latchkeytest.Response {
			return c.Call("org.members.update_role", map[string]any{"user_id": userID, "role": role})
		}
		want(t, "the only owner steps down", role(tm.owner, tm.ownerID, "admin"), http.StatusConflict, "last_owner")
		want(t, "admin raises self", role(tm.admin, tm.adminID, "owner"), http.StatusForbidden, "forbidden")
		want(t, "admin makes an owner", role(tm.admin, tm.memberID, "owner"), http.StatusForbidden, "forbidden")
		want(t, "admin demotes the owner", role(tm.admin, tm.ownerID, "member"), http.StatusForbidden, "forbidden")
		want(t, "member raises self", role(tm.member, tm.memberID, "admin"), http.StatusForbidden, "forbidden")
		want(t, "unknown member", role(tm.owner, "usr_nobody", "member"), http.StatusNotFound, "not_found")
		want(t, "unknown role", role(tm.owner, tm.memberID, "king"), http.StatusBadRequest, "invalid_request")
		want(t, "no user", role(tm.owner, "", "member"), http.StatusBadRequest, "invalid_request")

		r := role(tm.admin, tm.memberID, "admin")
		want(t, "admin promotes a member", r, http.StatusOK, "")
		if m := r.Obj("member"); m["user_id"] != tm.memberID || m["role"] != "admin" || m["email"] != "mia@example.com" {
			t.Errorf("member: %s", r.Body)
		}
		// The new role holds on the member's very next request.
		if me := tm.member.Get("auth.me"); me.Str("role") != "admin" {
			t.Errorf("role after promotion: %s", me.Body)
		}
		want(t, "admin lowers self", role(tm.admin, tm.adminID, "member"), http.StatusOK, "")
		want(t, "owner makes a second owner", role(tm.owner, tm.memberID, "owner"), http.StatusOK, "")
		want(t, "an owner steps down beside another", role(tm.owner, tm.ownerID, "member"), http.StatusOK, "")
		want(t, "the last owner steps down", role(tm.member, tm.memberID, "admin"), http.StatusConflict, "last_owner")
		env.wantAudit(t, tm.adminID, "org.member_role_changed")
	})
}

func TestMembersRemove(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		env := startMailEnv(t, db, nil)
		tm := env.team(t)
		remove := func(c *latchkeytest.Client, userID string) *latchkeytest.Response {
			return c.Call("org.members.remove", map[string]any{"user_id": userID})
		}
		want(t, "the last owner", remove(tm.owner, tm.ownerID), http.StatusConflict, "last_owner")
		want(t, "admin removes the owner", remove(tm.admin, tm.ownerID), http.StatusForbidden, "forbidden")
		want(t, "member removes", remove(tm.member, tm.adminID), http.StatusForbidden, "forbidden")
		want(t, "unknown member", remove(tm.owner, "usr_nobody"), http.StatusNotFound, "not_found")

		want(t, "admin removes the member", remove(tm.admin, tm.memberID), http.StatusOK, "")
		want(t, "the removed member's session", tm.member.Get("auth.me"), http.StatusUnauthorized, "invalid_token")
		want(t, "removed twice", remove(tm.admin, tm.memberID), http.StatusNotFound, "not_found")
		r := tm.owner.Get("org.members.list")
		if items, _ := r.JSON["members"].([]any); len(items) != 2 {
			t.Errorf("members after removal: %s", r.Body)
		}
		want(t, "admin leaves", remove(tm.admin, tm.adminID), http.StatusOK, "")
		env.wantAudit(t, tm.adminID, "org.member_removed")
	})
}
