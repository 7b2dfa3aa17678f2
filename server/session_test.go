package server_test

import (
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey"
	"github.com/latchkey/latchkey/latchkeytest"
)

func TestMe(t *testing.T) {
	each(t, latchkeytest.Options{}, func(t *testing.T, env *latchkeytest.Env, db latchkeytest.Database) {
		c := env.Client(t)
		reg := c.Register("ada@example.com", pw)
		token := reg.Str("access_token")
		for name, r := range map[string]*latchkeytest.Response{
			"bearer GET":  bearer(t, env, token).Get("auth.me"),
			"bearer POST": bearer(t, env, token).Call("auth.me", map[string]any{}),
			"cookie GET":  c.Get("auth.me"),
			"cookie POST": c.Call("auth.me", map[string]any{}),
		} {
			wantOK(t, name, r)
			if r.Str("credential") != "session" || r.JSON["api_key_id"] != nil || !idPattern.MatchString(r.Str("session_id")) ||
				r.Obj("user")["email"] != "ada@example.com" || r.Str("role") != "owner" {
				t.Errorf("%s: %s", name, r.Body)
			}
			if s := scopes(r); !slices.Equal(s, []string{"api:read", "api:write", "org:admin"}) {
				t.Errorf("%s: scopes %v", name, s)
			}
			for _, k := range []string{"id", "name", "slug"} {
				if _, ok := r.Obj("org")[k].(string); !ok {
					t.Errorf("%s: org.%s missing: %s", name, k, r.Body)
				}
			}
		}
		expectError(t, "no credential", env.Client(t).Get("auth.me"), 401, "unauthenticated")
		for _, bad := range []string{"garbage", "a.b.c", token[:len(token)-4] + "AAAA", "sk_live_nope", strings.Repeat("x", 5000)} {
			expectError(t, "bearer "+bad[:min(len(bad), 12)], meStatus(t, env, bad), 401, "invalid_token")
		}
		r := env.Client(t).Do(http.MethodGet, "/v1/auth.me", nil, http.Header{"Cookie": {"latchkey_access=garbage"}})
		expectError(t, "garbage cookie", r, 401, "invalid_token")
		for _, h := range []string{"Basic YTpi", "Bearer", "Bearer ", "token " + token} {
			r := env.Client(t).Do(http.MethodGet, "/v1/auth.me", nil, http.Header{"Authorization": {h}})
			expectError(t, "Authorization "+h[:min(len(h), 10)], r, 401, "invalid_token")
		}
		// A token another server signed (another key) is not accepted.
		foreign := latchkeytest.New(t, latchkeytest.Options{})
		freg := foreign.Client(t).Register("ada@example.com", pw)
		wantTokenDead(t, env, "token of another deployment", freg.Str("access_token"))

		env.Clock.Advance(15*time.Minute + time.Second)
		wantTokenDead(t, env, "expired token", token)
		expectError(t, "expired cookie", c.Get("auth.me"), 401, "invalid_token")
	})
}

func scopes(r *latchkeytest.Response) []string {
	var out []string
	list, _ := r.JSON["scopes"].([]any)
	for _, s := range list {
		out = append(out, s.(string))
	}
	return out
}

func TestLogout(t *testing.T) {
	each(t, latchkeytest.Options{}, func(t *testing.T, env *latchkeytest.Env, db latchkeytest.Database) {
		c := env.Client(t)
		reg := c.Register("ada@example.com", pw)
		_, other := login(t, env, "ada@example.com", pw)
		old := http.Header{"Cookie": {"latchkey_access=" + reg.Str("access_token")}}

		r := c.Call("auth.logout", map[string]any{})
		wantOK(t, "logout", r)
		checkCleared(t, r)
		wantTokenDead(t, env, "logged-out access token", reg.Str("access_token"))
		expectError(t, "logged-out refresh token", refreshWith(t, env, reg.Str("refresh_token")), 401, "invalid_token")
		wantTokenWorks(t, env, "another session of the same user", other.Str("access_token"))

		// Again with the revoked cookie: still 200, cookies cleared again.
		r = env.Client(t).Do(http.MethodPost, "/v1/auth.logout", map[string]any{}, old)
		wantOK(t, "logout twice with the cookie", r)
		checkCleared(t, r)
		// A revoked bearer token is an error like anywhere else.
		expectError(t, "logout with a revoked bearer", bearer(t, env, reg.Str("access_token")).Call("auth.logout", map[string]any{}), 401, "invalid_token")
		expectError(t, "logout without credential", env.Client(t).Call("auth.logout", map[string]any{}), 401, "unauthenticated")
		// The CSRF rule holds even for an already-revoked cookie.
		h := old.Clone()
		h.Set("Origin", "https://evil.example")
		expectError(t, "logout from a foreign origin", env.Client(t).Do(http.MethodPost, "/v1/auth.logout", map[string]any{}, h), 403, "csrf_rejected")
		// Logout with a bearer token revokes that session.
		wantOK(t, "logout by bearer", bearer(t, env, other.Str("access_token")).Call("auth.logout", map[string]any{}))
		wantTokenDead(t, env, "bearer-logged-out token", other.Str("access_token"))
	})
}

// TestLogoutExpiredCookie: signing out after the access cookie expired
// still revokes the session, so its refresh token dies too.
func TestLogoutExpiredCookie(t *testing.T) {
	each(t, latchkeytest.Options{}, func(t *testing.T, env *latchkeytest.Env, db latchkeytest.Database) {
		reg := env.Client(t).Register("ada@example.com", pw)
		_, other := login(t, env, "ada@example.com", pw)
		env.Clock.Advance(20 * time.Minute)
		old := http.Header{"Cookie": {"latchkey_access=" + reg.Str("access_token")}}
		r := env.Client(t).Do(http.MethodPost, "/v1/auth.logout", map[string]any{}, old)
		wantOK(t, "logout with an expired cookie", r)
		checkCleared(t, r)
		expectError(t, "refresh of the logged-out session", refreshWith(t, env, reg.Str("refresh_token")), 401, "invalid_token")
		wantOK(t, "another session", refreshWith(t, env, other.Str("refresh_token")))
		// A cookie that is not even our token changes nothing and still clears.
		r = env.Client(t).Do(http.MethodPost, "/v1/auth.logout", map[string]any{}, http.Header{"Cookie": {"latchkey_access=junk"}})
		wantOK(t, "logout with a junk cookie", r)
		checkCleared(t, r)
	})
}

func checkCleared(t *testing.T, r *latchkeytest.Response) {
	t.Helper()
	for name, path := range map[string]string{"latchkey_access": "/", "latchkey_refresh": "/v1/auth.refresh"} {
		ck := parsedSetCookie(t, r, name)
		if ck.Value != "" || ck.MaxAge >= 0 || ck.Path != path || !strings.Contains(ck.Raw, "Max-Age=0") {
			t.Errorf("%s not cleared with Max-Age=0 on %s: %q", name, path, ck.Raw)
		}
	}
}

func TestRefresh(t *testing.T) {
	each(t, latchkeytest.Options{}, func(t *testing.T, env *latchkeytest.Env, db latchkeytest.Database) {
		c := env.Client(t)
		reg := c.Register("ada@example.com", pw)
		first := reg.Str("refresh_token")

		r := c.Call("auth.refresh", nil)
		wantOK(t, "refresh", r)
		if len(r.JSON) != 1 || r.JSON["expires_in"] != 900.0 {
			t.Fatalf("refresh body %s, want only expires_in", r.Body)
		}
		second := parsedSetCookie(t, r, "latchkey_refresh").Value
		access2 := parsedSetCookie(t, r, "latchkey_access").Value
		// (The access token may be byte-identical within one second: same claims, deterministic signature.)
		if second == first || second == "" || access2 == "" {
			t.Fatal("refresh did not rotate the tokens")
		}
		wantTokenWorks(t, env, "refreshed access token", access2)
		wantTokenWorks(t, env, "the earlier access token (same live session)", reg.Str("access_token"))

		// The just-rotated token, inside the grace window: a fresh pair in the same session.
		r = refreshWith(t, env, first)
		wantOK(t, "reuse inside grace", r)
		third := parsedSetCookie(t, r, "latchkey_refresh").Value
		wantTokenWorks(t, env, "pair from the grace reuse", parsedSetCookie(t, r, "latchkey_access").Value)
		wantOK(t, "the newest token still rotates", refreshWith(t, env, third))

		// Outside the grace window: reuse revokes the whole session.
		env.Clock.Advance(11 * time.Second)
		latest := refreshWith(t, env, first) // rotated 11 s ago
		expectError(t, "reuse outside grace", latest, 401, "invalid_token")
		checkCleared(t, latest)
		wantTokenDead(t, env, "access token of the revoked session", access2)
		wantTokenDead(t, env, "first access token of the revoked session", reg.Str("access_token"))
		expectError(t, "any token of the revoked lineage", refreshWith(t, env, third), 401, "invalid_token")
		expectError(t, "the live token of the revoked session", c.Call("auth.refresh", nil), 401, "invalid_token")

		expectError(t, "no cookie", env.Client(t).Call("auth.refresh", nil), 401, "invalid_token")
		expectError(t, "unknown token", refreshWith(t, env, "nope"), 401, "invalid_token")
		expectError(t, "GET", env.Client(t).Get("auth.refresh"), 405, "method_not_allowed")
	})
}

// TestRefreshBodyIgnored: auth.refresh reads the cookie only. A token in
// the body is never used, and a body that is not even JSON is not read.
func TestRefreshBodyIgnored(t *testing.T) {
	each(t, latchkeytest.Options{}, func(t *testing.T, env *latchkeytest.Env, db latchkeytest.Database) {
		reg := env.Client(t).Register("ada@example.com", pw)
		tok := reg.Str("refresh_token")
		r := env.Client(t).Call("auth.refresh", map[string]any{"refresh_token": tok})
		expectError(t, "token in the body", r, 401, "invalid_token")
		r = env.Client(t).Do(http.MethodPost, "/v1/auth.refresh", `{"refresh_token": "`+tok+`"`, http.Header{"Cookie": {"latchkey_refresh=" + tok}})
		wantOK(t, "cookie with a broken body", r)
		r = env.Client(t).Do(http.MethodPost, "/v1/auth.refresh", strings.Repeat("x", 100<<10), http.Header{"Cookie": {"latchkey_refresh=" + parsedSetCookie(t, r, "latchkey_refresh").Value}})
		wantOK(t, "cookie with a body over 64 KiB", r)
	})
}

func TestRefreshExpiry(t *testing.T) {
	each(t, latchkeytest.Options{Configure: func(c *latchkey.Config) { c.RefreshTokenTTL = time.Hour }}, func(t *testing.T, env *latchkeytest.Env, db latchkeytest.Database) {
		c := env.Client(t)
		reg := c.Register("ada@example.com", pw)
		env.Clock.Advance(50 * time.Minute)
		wantOK(t, "refresh before expiry", c.Call("auth.refresh", nil))
		env.Clock.Advance(50 * time.Minute) // the refresh slid the session forward
		wantOK(t, "refresh after the first token's expiry", c.Call("auth.refresh", nil))
		env.Clock.Advance(61 * time.Minute)
		expectError(t, "expired", c.Call("auth.refresh", nil), 401, "invalid_token")
		expectError(t, "a never-used token of the same age", refreshWith(t, env, reg.Str("refresh_token")), 401, "invalid_token")
	})
}

// TestRefreshConcurrent: two tabs refreshing the same token at once both
// stay signed in, in the same session.
func TestRefreshConcurrent(t *testing.T) {
	each(t, latchkeytest.Options{}, func(t *testing.T, env *latchkeytest.Env, db latchkeytest.Database) {
		reg := env.Client(t).Register("ada@example.com", pw)
		const tabs = 4
		type result struct {
			status  int
			access  string
			refresh string
			err     error
		}
		results := make([]result, tabs)
		var wg sync.WaitGroup
		for i := range tabs {
			wg.Go(func() {
				req, _ := http.NewRequest(http.MethodPost, env.URL+"/v1/auth.refresh", nil)
				req.Header.Set("Cookie", "latchkey_refresh="+reg.Str("refresh_token"))
				status, cookies, _, err := send(req)
				results[i] = result{status: status, err: err}
				for _, ck := range cookies {
					switch ck.Name {
					case "latchkey_access":
						results[i].access = ck.Value
					case "latchkey_refresh":
						results[i].refresh = ck.Value
					}
				}
			})
		}
		wg.Wait()
		sid := ""
		for i, r := range results {
			if r.err != nil || r.status != 200 || r.access == "" || r.refresh == "" {
				t.Fatalf("tab %d: %d %v", i, r.status, r.err)
			}
			me := meStatus(t, env, r.access)
			wantOK(t, "tab's access token", me)
			if sid == "" {
				sid = me.Str("session_id")
			} else if me.Str("session_id") != sid {
				t.Errorf("tab %d is in session %s, want %s", i, me.Str("session_id"), sid)
			}
			wantOK(t, "tab's refresh token", refreshWith(t, env, r.refresh))
		}
	})
}

func TestSessionsListRevoke(t *testing.T) {
	each(t, latchkeytest.Options{}, func(t *testing.T, env *latchkeytest.Env, db latchkeytest.Database) {
		c := env.Client(t)
		c.Header.Set("User-Agent", "browser-one")
		c.Register("ada@example.com", pw)
		other := env.Client(t)
		other.Header.Set("User-Agent", "browser-two")
		o := other.Call("auth.login", map[string]any{"email": "ada@example.com", "password": pw})
		wantOK(t, "login", o)
		bob := env.Client(t)
		bob.Register("bob@example.com", pw)

		for _, r := range []*latchkeytest.Response{c.Get("auth.sessions.list"), c.Call("auth.sessions.list", map[string]any{})} {
			wantOK(t, "list", r)
			list := r.JSON["sessions"].([]any)
			if len(list) != 2 {
				t.Fatalf("sessions: %s", r.Body)
			}
			var current []string
			for _, x := range list {
				s := x.(map[string]any)
				if !idPattern.MatchString(s["id"].(string)) || s["ip"] != "127.0.0.1" || s["created_at"] == nil || s["last_seen_at"] == nil {
					t.Errorf("session entry %v", s)
				}
				if s["current"] == true {
					current = append(current, s["user_agent"].(string))
				}
			}
			if len(current) != 1 || current[0] != "browser-one" {
				t.Errorf("current sessions %v, want the caller's only", current)
			}
		}
		// last_seen_at moves on refresh (not on every request).
		env.Clock.Advance(10 * time.Minute)
		wantOK(t, "refresh", other.Call("auth.refresh", nil))
		for _, x := range c.Get("auth.sessions.list").JSON["sessions"].([]any) {
			s := x.(map[string]any)
			created, _ := time.Parse(time.RFC3339Nano, s["created_at"].(string))
			seen, _ := time.Parse(time.RFC3339Nano, s["last_seen_at"].(string))
			if moved := seen.Sub(created) >= 10*time.Minute; moved != (s["user_agent"] == "browser-two") {
				t.Errorf("last_seen_at of %v: moved=%v, want only the refreshed one", s["user_agent"], moved)
			}
		}
		otherID := other.Get("auth.me").Str("session_id")
		bobID := bob.Get("auth.me").Str("session_id")
		expectError(t, "someone else's session", c.Call("auth.sessions.revoke", map[string]any{"session_id": bobID}), 404, "not_found")
		wantOK(t, "bob still signed in", bob.Get("auth.me"))
		expectError(t, "unknown session", c.Call("auth.sessions.revoke", map[string]any{"session_id": "ses_nope"}), 404, "not_found")
		wantField(t, "no session_id", c.Call("auth.sessions.revoke", map[string]any{}), "session_id")

		r := c.Call("auth.sessions.revoke", map[string]any{"session_id": otherID})
		wantOK(t, "revoke the other", r)
		if len(r.Header.Values("Set-Cookie")) != 0 {
			t.Errorf("revoking another session touched the caller's cookies: %v", r.Header.Values("Set-Cookie"))
		}
		wantTokenDead(t, env, "revoked session", o.Str("access_token"))
		if list := c.Get("auth.sessions.list").JSON["sessions"].([]any); len(list) != 1 {
			t.Errorf("after revoking: %d sessions", len(list))
		}
		wantOK(t, "revoking twice is harmless", c.Call("auth.sessions.revoke", map[string]any{"session_id": otherID}))

		me := c.Get("auth.me")
		token := c.Call("auth.refresh", nil).Cookie("latchkey_access").Value
		r = c.Call("auth.sessions.revoke", map[string]any{"session_id": me.Str("session_id")})
		wantOK(t, "revoke the current session", r)
		checkCleared(t, r)
		expectError(t, "after revoking itself (cookies gone)", c.Get("auth.sessions.list"), 401, "unauthenticated")
		wantTokenDead(t, env, "the revoked current session", token)
	})
}

func TestOrgSwitch(t *testing.T) {
	each(t, latchkeytest.Options{}, func(t *testing.T, env *latchkeytest.Env, db latchkeytest.Database) {
		c := env.Client(t)
		reg := c.Register("ada@example.com", pw)
		home := c.Get("auth.me").Obj("org")["id"].(string)
		team := newOrg(t, env, "Team")
		addMember(t, env, user(t, env, "ada@example.com").ID, team.ID, latchkey.RoleMember)
		foreign := env.Client(t).Register("bob@example.com", pw)
		bobOrg := bearer(t, env, foreign.Str("access_token")).Get("auth.me").Obj("org")["id"].(string)

		expectError(t, "foreign org", c.Call("auth.org.switch", map[string]any{"org_id": bobOrg}), 403, "forbidden")
		expectError(t, "unknown org", c.Call("auth.org.switch", map[string]any{"org_id": "org_nope"}), 403, "forbidden")
		wantField(t, "no org_id", c.Call("auth.org.switch", map[string]any{}), "org_id")

		r := c.Call("auth.org.switch", map[string]any{"org_id": team.ID})
		wantOK(t, "switch", r)
		if r.Str("access_token") == "" || r.Str("refresh_token") == "" || r.Str("token_type") != "Bearer" || r.Obj("user")["email"] != "ada@example.com" {
			t.Fatalf("switch body: %s", r.Body)
		}
		parsedSetCookie(t, r, "latchkey_access")
		parsedSetCookie(t, r, "latchkey_refresh")
		me := c.Get("auth.me")
		if me.Obj("org")["id"] != team.ID || me.Obj("org")["name"] != "Team" || me.Str("role") != "member" ||
			!slices.Equal(scopes(me), []string{"api:read", "api:write"}) {
			t.Errorf("after switch: %s", me.Body)
		}
		wantTokenDead(t, env, "the access token for the old org", reg.Str("access_token"))
		wantTokenWorks(t, env, "the new access token", r.Str("access_token"))
		// Refreshing keeps the new org.
		wantOK(t, "refresh after switch", c.Call("auth.refresh", nil))
		if got := c.Get("auth.me").Obj("org")["id"]; got != team.ID {
			t.Errorf("org after refresh = %v, want %s", got, team.ID)
		}
		wantOK(t, "switch back", c.Call("auth.org.switch", map[string]any{"org_id": home}))
		if got := c.Get("auth.me"); got.Obj("org")["id"] != home || got.Str("role") != "owner" {
			t.Errorf("after switching back: %s", got.Body)
		}
	})
}
