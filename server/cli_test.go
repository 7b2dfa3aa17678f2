package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey"
	"github.com/latchkey/latchkey/latchkeytest"
)

func TestCLIAuthorizeRejectsHostileCallbacks(t *testing.T) {
	env := latchkeytest.New(t, latchkeytest.Options{})
	c, _ := keyOwner(t, env, "ada@example.com")
	for _, cb := range []string{
		"",
		"https://127.0.0.1:8000/cb",
		"HTTPS://localhost:8000/cb",
		"http://127.0.0.1.evil.com:8000/cb",
		"http://localhost.evil.com:8000/cb",
		"http://evil.com:8000/cb",
		"http://localhost@evil.com:8000/cb",
		"http://evil.com@localhost:8000/cb",
		"http://user:pass@127.0.0.1:8000/cb",
		"http://127.0.0.1:8000@evil.com/cb",
		"http://127.0.0.1:8000/cb#frag",
		"http://127.0.0.1:8000/cb#",
		"http://127.0.0.1/cb",
		"http://127.0.0.1:/cb",
		"http://localhost/cb",
		"http://127.0.0.1:0/cb",
		"http://127.0.0.1:08000/cb",
		"http://127.0.0.1:65536/cb",
		"http://127.0.0.1:80a/cb",
		"http://127.0.0.1:8000",
		"http://127.0.0.1:8000?x=1",
		"http://127.0.0.1:8000\\@evil.com/cb",
		"http:\\\\127.0.0.1:8000\\cb",
		"http:/127.0.0.1:8000/cb",
		"http:127.0.0.1:8000/cb",
		"//127.0.0.1:8000/cb",
		"127.0.0.1:8000/cb",
		"http://%31%32%37.0.0.1:8000/cb",
		"http://127.0.0.1%2eevil.com:8000/cb",
		"http://localhost%00.evil.com:8000/cb",
		"http%3A%2F%2F127.0.0.1%3A8000%2Fcb",
		"http://127.0.0.2:8000/cb",
		"http://0.0.0.0:8000/cb",
		"http://[::1]:8000/cb",
		"http://LOCALHOST:8000/cb",
		"http://127.1:8000/cb",
		"http://2130706433:8000/cb",
		"http://127.0.0.1:8000/c b",
		"http://127.0.0.1:8000/cb\nLocation: http://evil.com",
		"http://127.0.0.1:8000/\u00e9",
		"javascript://127.0.0.1:8000/%0aalert(1)",
		"file://127.0.0.1:8000/etc/passwd",
		"ftp://127.0.0.1:8000/cb",
		" http://127.0.0.1:8000/cb",
		"http://127.0.0.1:8000/" + strings.Repeat("a", 2100),
	} {
		r := c.Call("auth.cli.authorize", map[string]any{"callback_url": cb, "state": "st"})
		if r.Status != http.StatusBadRequest || r.Code() != "invalid_callback" {
			t.Errorf("callback %q: got %d %s, want 400 invalid_callback", cb, r.Status, r.Body)
		}
	}
	if keys, _ := c.Get("org.api_keys.list").JSON["api_keys"].([]any); len(keys) != 0 {
		t.Fatalf("rejected requests created %d keys", len(keys))
	}
}

func TestCLIAuthorize(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		env := latchkeytest.New(t, latchkeytest.Options{Database: db})
		c, orgID := keyOwner(t, env, "ada@example.com")
		for _, cb := range []string{"http://127.0.0.1:8123/callback", "http://localhost:1/", "http://127.0.0.1:65535/cb?keep=me&state=old"} {
			r := c.Call("auth.cli.authorize", map[string]any{"callback_url": cb, "state": "s t&ate", "key_name": "laptop"})
			if r.Status != http.StatusOK {
				t.Fatalf("%s: %d %s", cb, r.Status, r.Body)
			}
			if r.JSON["publishable_key"] != nil {
				t.Fatalf("publishable_key without asking: %s", r.Body)
			}
			u, err := url.Parse(r.Str("redirect_url"))
			want, _ := url.Parse(cb)
			if err != nil || u.Scheme != "http" || u.Host != want.Host || u.Path != want.Path {
				t.Fatalf("redirect_url %q for callback %q", r.Str("redirect_url"), cb)
			}
			q := u.Query()
			if q.Get("state") != "s t&ate" || q.Get("org_id") != orgID || len(q["state"]) != 1 || (want.Query().Get("keep") != "" && q.Get("keep") != "me") {
				t.Fatalf("redirect_url query %v", q)
			}
			me := withKey(t, env, q.Get("key")).Get("auth.me")
			if me.Status != http.StatusOK || me.Str("api_key_id") != r.Str("api_key_id") || me.Obj("org")["id"] != orgID {
				t.Fatalf("the CLI key: %d %s", me.Status, me.Body)
			}
			if got := me.JSON["scopes"].([]any); len(got) != 2 || got[0] != "api:read" || got[1] != "api:write" {
				t.Fatalf("default scopes %v", got)
			}
		}

		wantKeyError(t, "no state", c.Call("auth.cli.authorize", map[string]any{"callback_url": "http://127.0.0.1:9/cb"}), 400, "invalid_request")
		wantKeyError(t, "unknown scope", c.Call("auth.cli.authorize", map[string]any{"callback_url": "http://127.0.0.1:9/cb", "state": "s", "scopes": []string{"everything"}}), 400, "invalid_request")
		wantKeyError(t, "anonymous", env.Client(t).Call("auth.cli.authorize", map[string]any{"callback_url": "http://127.0.0.1:9/cb", "state": "s"}), 401, "unauthenticated")
		r := c.Call("auth.cli.authorize", map[string]any{"callback_url": "http://127.0.0.1:9/cb", "state": "s", "scopes": []string{"org:admin"}})
		if r.Status != http.StatusOK {
			t.Fatalf("an owner asks for org:admin: %d %s", r.Status, r.Body)
		}

		// The publishable key is created once, then the same one is returned.
		ask := map[string]any{"callback_url": "http://127.0.0.1:9/cb", "state": "s", "create_publishable_key": true}
		first := c.Call("auth.cli.authorize", ask)
		second := c.Call("auth.cli.authorize", ask)
		pk := first.Str("publishable_key")
		if !strings.HasPrefix(pk, "pk_live_") || second.Str("publishable_key") != pk {
			t.Fatalf("publishable keys %q then %q", pk, second.Str("publishable_key"))
		}
		list, _ := c.Get("org.publishable_keys.list").JSON["publishable_keys"].([]any)
		if len(list) != 1 {
			t.Fatalf("%d publishable keys, want 1", len(list))
		}
	})
}

func TestDashboardToken(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		env := latchkeytest.New(t, latchkeytest.Options{Database: db})
		c, orgID := keyOwner(t, env, "ada@example.com")
		ownerID := c.Get("auth.me").Obj("user")["id"]
		key, _ := newKey(t, c, "api:read")
		k := withKey(t, env, key)

		r := k.Call("auth.dashboard_token.create", map[string]any{})
		if r.Status != http.StatusOK || r.Str("token") == "" || !strings.HasPrefix(r.Str("url"), env.URL+"/v1/auth.dashboard_token.exchange?token=") {
			t.Fatalf("create: %d %s", r.Status, r.Body)
		}
		if exp, err := time.Parse(time.RFC3339, r.Str("expires_at")); err != nil || exp.Sub(env.Service.Now()) > time.Minute || exp.Before(env.Service.Now()) {
			t.Fatalf("expires_at %q is not within the 60 s default", r.Str("expires_at"))
		}
		link := strings.TrimPrefix(r.Str("url"), env.URL)

		browser := env.Client(t)
		res := browser.Do(http.MethodGet, link, nil, nil)
		if res.Status != http.StatusFound || res.Header.Get("Location") != env.URL+"/" {
			t.Fatalf("exchange: %d Location %q", res.Status, res.Header.Get("Location"))
		}
		if ck := res.Cookie("latchkey_access"); ck == nil || ck.Value == "" || !ck.HttpOnly {
			t.Fatalf("no access cookie: %v", res.Header["Set-Cookie"])
		}
		if ck := res.Cookie("latchkey_refresh"); ck == nil || ck.Value == "" || ck.Path != "/v1/auth.refresh" {
			t.Fatalf("no refresh cookie: %v", res.Header["Set-Cookie"])
		}
		me := browser.Get("auth.me")
		if me.Status != http.StatusOK || me.Str("credential") != "session" || me.Obj("user")["id"] != ownerID || me.Obj("org")["id"] != orgID {
			t.Fatalf("the browser's session: %d %s", me.Status, me.Body)
		}

		// Single use.
		again := env.Client(t).Do(http.MethodGet, link, nil, nil)
		if again.Status != http.StatusFound || again.Header.Get("Location") != env.URL+"/login" || again.Cookie("latchkey_access") != nil {
			t.Fatalf("second exchange: %d Location %q", again.Status, again.Header.Get("Location"))
		}

		// Expiry.
		late := k.Call("auth.dashboard_token.create", map[string]any{})
		env.Clock.Advance(61 * time.Second)
		expired := env.Client(t).Do(http.MethodGet, strings.TrimPrefix(late.Str("url"), env.URL), nil, nil)
		if expired.Status != http.StatusFound || expired.Header.Get("Location") != env.URL+"/login" || expired.Cookie("latchkey_access") != nil {
			t.Fatalf("expired exchange: %d Location %q", expired.Status, expired.Header.Get("Location"))
		}

		for _, bad := range []string{"", "?token=", "?token=nope", "?token=" + strings.Repeat("x", 300)} {
			r := env.Client(t).Do(http.MethodGet, "/v1/auth.dashboard_token.exchange"+bad, nil, nil)
			if r.Status != http.StatusFound || r.Header.Get("Location") != env.URL+"/login" {
				t.Fatalf("exchange%s: %d %q", bad, r.Status, r.Header.Get("Location"))
			}
		}
		live := k.Call("auth.dashboard_token.create", map[string]any{})
		head := env.Client(t).Do(http.MethodHead, strings.TrimPrefix(live.Str("url"), env.URL), nil, nil)
		if head.Status != http.StatusMethodNotAllowed {
			t.Fatalf("HEAD exchange: %d", head.Status)
		}
		if r := env.Client(t).Do(http.MethodGet, strings.TrimPrefix(live.Str("url"), env.URL), nil, nil); r.Header.Get("Location") != env.URL+"/" {
			t.Fatalf("the token after a HEAD went to %q", r.Header.Get("Location"))
		}
		post := env.Client(t).Call("auth.dashboard_token.exchange", map[string]any{})
		if post.Status != http.StatusMethodNotAllowed || post.Header.Get("Allow") != "GET" {
			t.Fatalf("POST exchange: %d Allow %q", post.Status, post.Header.Get("Allow"))
		}
	})
}

func TestDashboardTokenRedirectTo(t *testing.T) {
	env := latchkeytest.New(t, latchkeytest.Options{})
	c, _ := keyOwner(t, env, "ada@example.com")
	key, _ := newKey(t, c, "api:read")
	k := withKey(t, env, key)
	for _, tc := range []struct{ redirectTo, want string }{
		{"/settings/keys?tab=1", env.URL + "/settings/keys?tab=1"},
		{env.URL + "/billing", env.URL + "/billing"},
		{"https://evil.com/", env.URL + "/"},
		{"//evil.com/x", env.URL + "/"},
		{"/\\evil.com", env.URL + "/"},
		{"javascript:alert(1)", env.URL + "/"},
		{strings.Replace(env.URL, "http://", "http://user@", 1) + "/x", env.URL + "/"},
		{env.URL + ".evil.com/", env.URL + "/"},
	} {
		r := k.Call("auth.dashboard_token.create", map[string]any{"redirect_to": tc.redirectTo})
		if r.Status != http.StatusOK {
			t.Fatalf("create %q: %d %s", tc.redirectTo, r.Status, r.Body)
		}
		res := env.Client(t).Do(http.MethodGet, strings.TrimPrefix(r.Str("url"), env.URL), nil, nil)
		if res.Status != http.StatusFound || res.Header.Get("Location") != tc.want {
			t.Errorf("redirect_to %q: %d Location %q, want %q", tc.redirectTo, res.Status, res.Header.Get("Location"), tc.want)
		}
	}
}

func TestDashboardTokenNeedsAKeyThatMayActAsTheFirstMember(t *testing.T) {
	env := latchkeytest.New(t, latchkeytest.Options{})
	_, orgID := keyOwner(t, env, "ada@example.com")
	member := keyMember(t, env, orgID, "bob@example.com", latchkey.RoleMember)
	r := member.Call("auth.cli.authorize", map[string]any{"callback_url": "http://127.0.0.1:9/cb", "state": "s"})
	u, _ := url.Parse(r.Str("redirect_url"))
	memberKey := withKey(t, env, u.Query().Get("key"))
	wantKeyError(t, "a member's key", memberKey.Call("auth.dashboard_token.create", map[string]any{}), 403, "insufficient_scope")
}

func TestCLIAuthorizePage(t *testing.T) {
	env := latchkeytest.New(t, latchkeytest.Options{})
	c := env.Client(t)
	page := func(q url.Values) string {
		t.Helper()
		r := c.Do(http.MethodGet, "/cli/authorize?"+q.Encode(), nil, nil)
		if r.Status != http.StatusOK || !strings.Contains(r.Header.Get("Content-Security-Policy"), "script-src 'self'") {
			t.Fatalf("page: %d CSP %q", r.Status, r.Header.Get("Content-Security-Policy"))
		}
		return string(r.Body)
	}
	ok := page(url.Values{"callback_url": {"http://127.0.0.1:4567/callback"}, "state": {"st"}, "key_name": {"<b>my laptop</b>"}, "scopes": {"api:read,org:admin"}})
	for _, want := range []string{`id="cli-approve"`, "&lt;b&gt;my laptop&lt;/b&gt;", "127.0.0.1:4567", "org:admin", "api:read",
		`href="http://127.0.0.1:4567/callback?error=access_denied&amp;state=st"`} {
		if !strings.Contains(ok, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	if strings.Contains(ok, "api:write") {
		t.Errorf("page shows a scope that was not asked for")
	}
	for _, q := range []url.Values{
		{"callback_url": {"http://127.0.0.1.evil.com:4567/callback"}, "state": {"st"}},
		{"callback_url": {"http://127.0.0.1:4567/callback"}},
		{"callback_url": {"http://127.0.0.1:4567/callback"}, "state": {"st"}, "scopes": {"api:read root"}},
	} {
		if body := page(q); strings.Contains(body, `id="cli-approve"`) || strings.Contains(body, "evil.com") || !strings.Contains(body, "Start the sign-in again") {
			t.Errorf("page for %v offers approval or echoes the callback", q)
		}
	}
}

func TestOpenAPIListsTheKeyOperations(t *testing.T) {
	env := latchkeytest.New(t, latchkeytest.Options{})
	paths, _ := env.Client(t).Get("openapi.json").JSON["paths"].(map[string]any)
	for _, op := range []string{"org.api_keys.create", "org.api_keys.list", "org.api_keys.revoke",
		"org.publishable_keys.create", "org.publishable_keys.list", "org.publishable_keys.revoke",
		"auth.cli.authorize", "auth.dashboard_token.create"} {
		item, _ := paths["/v1/"+op].(map[string]any)
		if post, _ := item["post"].(map[string]any); post == nil || post["operationId"] != op {
			t.Errorf("openapi.json lacks POST /v1/%s", op)
		}
	}
	// The exchange is browser navigation: GET only, answered with a 302.
	item, _ := paths["/v1/auth.dashboard_token.exchange"].(map[string]any)
	get, _ := item["get"].(map[string]any)
	responses, _ := get["responses"].(map[string]any)
	if get == nil || item["post"] != nil || responses["302"] == nil {
		t.Errorf("openapi.json /v1/auth.dashboard_token.exchange: %v", item)
	}
}

func TestDashboardTokenTTLIsConfigurable(t *testing.T) {
	env := latchkeytest.New(t, latchkeytest.Options{Configure: func(c *latchkey.Config) { c.DashboardTokenTTL = 5 * time.Second }})
	c, _ := keyOwner(t, env, "ada@example.com")
	key, _ := newKey(t, c, "api:read")
	k := withKey(t, env, key)
	open := func(r *latchkeytest.Response) string {
		t.Helper()
		return env.Client(t).Do(http.MethodGet, strings.TrimPrefix(r.Str("url"), env.URL), nil, nil).Header.Get("Location")
	}
	fresh := k.Call("auth.dashboard_token.create", map[string]any{})
	stale := k.Call("auth.dashboard_token.create", map[string]any{})
	if exp, _ := time.Parse(time.RFC3339, fresh.Str("expires_at")); exp.Sub(env.Service.Now()) > 5*time.Second {
		t.Fatalf("expires_at %s is beyond the 5 s TTL", fresh.Str("expires_at"))
	}
	env.Clock.Advance(4 * time.Second)
	if got := open(fresh); got != env.URL+"/" {
		t.Fatalf("a token within its TTL went to %q", got)
	}
	env.Clock.Advance(2 * time.Second)
	if got := open(stale); got != env.URL+"/login" {
		t.Fatalf("a token past its TTL went to %q", got)
	}
}
