package server_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/latchkey/latchkey"
	"github.com/latchkey/latchkey/latchkeytest"
	"github.com/latchkey/latchkey/oauth"
	"github.com/latchkey/latchkey/oauth/oauthtest"
	"github.com/latchkey/latchkey/server"
)

func TestOAuthProvidersListed(t *testing.T) {
	e := newOAuthEnv(t, latchkeytest.SQLite(t))
	r := e.Client(t).Get("auth.providers")
	oauthList, _ := r.JSON["oauth"].([]any)
	var ids []string
	for _, p := range oauthList {
		m := p.(map[string]any)
		if m["enabled"] != true {
			t.Errorf("provider %v not enabled", m)
		}
		ids = append(ids, m["id"].(string))
	}
	if !slices.Equal(ids, []string{"acme", "github"}) {
		t.Errorf("auth.providers oauth = %v, want [acme github]", ids)
	}
}

func TestOAuthNewAndReturningSignIn(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		e := newOAuthEnv(t, db)
		e.idp.SetUser(oauthtest.User{Subject: "acme-1", Email: "Ada@Example.com", EmailVerified: true, Name: "Ada"})

		c := e.Client(t)
		u := e.signInAndExchange(t, c, "acme")
		if u["email"] != "ada@example.com" || u["email_verified"] != true || u["name"] != "Ada" || u["has_password"] != false {
			t.Fatalf("new user = %v", u)
		}
		me := c.Get("auth.me")
		if me.Status != http.StatusOK || me.Obj("org")["id"] == "" || me.Str("role") != "owner" {
			t.Fatalf("auth.me after sign-up: %d %s", me.Status, me.Body)
		}
		id := u["id"].(string)
		e.wantEvent(t, "signup_completed", id, "oauth")
		ids := e.identities(t, c)
		if len(ids) != 1 || ids[0].(map[string]any)["provider"] != "acme" || ids[0].(map[string]any)["can_unlink"] != false {
			t.Errorf("identities = %v, want one acme that cannot be unlinked", ids)
		}

		again := e.signInAndExchange(t, e.Client(t), "acme")
		if again["id"] != id {
			t.Errorf("returning sign-in made user %v, want %s", again["id"], id)
		}
		e.wantEvent(t, "login_succeeded", id, "oauth")

		// The account has no password: password sign-in names the provider.
		for _, op := range []string{"auth.login", "auth.login_or_register"} {
			r := c.Call(op, map[string]any{"email": "ada@example.com", "password": "whatever123"})
			providers, _ := r.JSON["error"].(map[string]any)["providers"].([]any)
			if r.Status != http.StatusUnauthorized || r.Code() != "oauth_only_account" || len(providers) != 1 || providers[0] != "acme" {
				t.Errorf("%s: %d %s, want 401 oauth_only_account [acme]", op, r.Status, r.Body)
			}
		}
	})
}

func TestOAuthEmailMatchesExistingAccount(t *testing.T) {
	tests := []struct {
		name          string
		localVerified bool
		idpVerified   bool
		wantLink      bool
	}{
		{"both verified: linked", true, true, true},
		{"local unverified: refused", false, true, false},
		{"provider unverified: refused", true, false, false},
		{"neither verified: refused", false, false, false},
	}
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		e := newOAuthEnv(t, db)
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				email := string(rune('a'+i)) + "-owner@example.com"
				local := e.Client(t)
				reg := local.Register(email, "correct horse battery")
				if tt.localVerified {
					e.verifyEmail(t, email)
				}
				e.idp.SetUser(oauthtest.User{Subject: "match-" + email, Email: email, EmailVerified: tt.idpVerified})
				c := e.Client(t)
				loc := e.signIn(t, c, "acme")
				if !tt.wantLink {
					wantLoginError(t, loc, "account_exists")
					if ev := e.posthog.Next(t, "login_failed"); ev.Properties["method"] != "oauth" || ev.Properties["reason"] != "account_exists" {
						t.Errorf("login_failed event = %v, want method oauth, reason account_exists", ev.Properties)
					}
					if ids := e.identities(t, local); len(ids) != 0 {
						t.Errorf("refused sign-in still linked %v", ids)
					}
					return
				}
				r := c.Call("auth.oauth.exchange", map[string]any{"code": loc.Query().Get("code")})
				if r.Status != http.StatusOK || r.Obj("user")["id"] != reg.Obj("user")["id"] {
					t.Fatalf("linked sign-in: %d %s, want the existing user", r.Status, r.Body)
				}
				if ids := e.identities(t, local); len(ids) != 1 || ids[0].(map[string]any)["can_unlink"] != true {
					t.Errorf("identities = %v, want one acme that can be unlinked", ids)
				}
			})
		}
	})
}

func TestOAuthStateMismatch(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		e := newOAuthEnv(t, db)
		victim := e.Client(t)
		cb := e.providerTrip(t, victim, "/oauth/acme/start")

		// Another browser (no state cookie) brings the callback: refused.
		wantLoginError(t, visit(t, e.Client(t), cb.String()), "invalid_state")

		// The right browser with a tampered state: refused, and the
		// attempt is burned, so the genuine callback fails too.
		c := e.Client(t)
		cb = e.providerTrip(t, c, "/oauth/acme/start")
		q := cb.Query()
		genuine := q.Get("state")
		q.Set("state", "forged-state")
		cb.RawQuery = q.Encode()
		wantLoginError(t, visit(t, c, cb.String()), "invalid_state")
		q.Set("state", genuine)
		cb.RawQuery = q.Encode()
		wantLoginError(t, visit(t, c, cb.String()), "invalid_state")

		// A successful callback cannot be replayed.
		c = e.Client(t)
		cb = e.providerTrip(t, c, "/oauth/acme/start")
		if loc := visit(t, c, cb.String()); loc.Path != "/auth/callback" {
			t.Fatalf("genuine callback ended at %s", loc)
		}
		wantLoginError(t, visit(t, c, cb.String()), "invalid_state")
	})
}

func TestOAuthExchangeCodeIsSingleUseAndShortLived(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		e := newOAuthEnv(t, db)
		c := e.Client(t)
		code := e.signIn(t, c, "acme").Query().Get("code")
		if r := c.Call("auth.oauth.exchange", map[string]any{"code": code}); r.Status != http.StatusOK {
			t.Fatalf("first exchange: %d %s", r.Status, r.Body)
		}
		if r := e.Client(t).Call("auth.oauth.exchange", map[string]any{"code": code}); r.Status != http.StatusBadRequest || r.Code() != "invalid_code" {
			t.Fatalf("replayed code: %d %s, want 400 invalid_code", r.Status, r.Body)
		}

		late := e.signIn(t, c, "acme").Query().Get("code")
		e.Clock.Advance(2 * time.Minute)
		if r := c.Call("auth.oauth.exchange", map[string]any{"code": late}); r.Status != http.StatusBadRequest || r.Code() != "invalid_code" {
			t.Fatalf("expired code: %d %s, want 400 invalid_code", r.Status, r.Body)
		}
		if r := c.Call("auth.oauth.exchange", map[string]any{"code": "made-up"}); r.Code() != "invalid_code" {
			t.Fatalf("unknown code: %d %s, want invalid_code", r.Status, r.Body)
		}
	})
}

func TestOAuthProviderFailuresRedirect(t *testing.T) {
	e := newOAuthEnv(t, latchkeytest.SQLite(t))
	e.idp.EditIDToken(func(c map[string]any) { c["nonce"] = "replayed-from-elsewhere" })
	wantLoginError(t, e.signIn(t, e.Client(t), "acme"), "provider_error")
	e.idp.EditIDToken(nil)

	wantLoginError(t, visit(t, e.Client(t), e.URL+"/oauth/nope/start"), "unknown_provider")

	e.idp.SetUser(oauthtest.User{Subject: "no-email"})
	wantLoginError(t, e.signIn(t, e.Client(t), "acme"), "email_required")

}

func TestOAuthServerStartsWhileProviderIsDown(t *testing.T) {
	e := newOAuthEnv(t, latchkeytest.SQLite(t))
	e.idp.SetDown(true) // before anything asked for its discovery document
	wantLoginError(t, visit(t, e.Client(t), e.URL+"/oauth/acme/start"), "provider_error")
	e.idp.SetDown(false)
	if loc := e.signIn(t, e.Client(t), "acme"); loc.Path != "/auth/callback" {
		t.Fatalf("after the provider came back the sign-in ended at %s", loc)
	}
}

func TestOAuthGitHubSignIn(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		e := newOAuthEnv(t, db)
		e.gh.SetUser(oauthtest.GitHubUser{ID: 583231, Login: "octocat", Name: "The Octocat", Emails: []oauthtest.GitHubEmail{
			{Email: "octo@example.com", Primary: true, Verified: true},
		}})
		c := e.Client(t)
		u := e.signInAndExchange(t, c, "github")
		if u["email"] != "octo@example.com" || u["email_verified"] != true || u["name"] != "The Octocat" {
			t.Fatalf("github user = %v", u)
		}
		if ids := e.identities(t, c); len(ids) != 1 || ids[0].(map[string]any)["provider"] != "github" {
			t.Fatalf("identities = %v", ids)
		}
		if again := e.signInAndExchange(t, e.Client(t), "github"); again["id"] != u["id"] {
			t.Fatalf("returning github sign-in made %v, want %v", again["id"], u["id"])
		}
	})
}

func TestOAuthRedirectTo(t *testing.T) {
	e := newOAuthEnv(t, latchkeytest.SQLite(t))
	tests := []struct {
		redirectTo string
		wantNext   string
	}{
		{"/settings?tab=keys", "/settings?tab=keys"},
		{e.URL + "/account", "/account"},
		{"https://evil.example/account", ""},
		{"//evil.example", ""},
		{"javascript:alert(1)", ""},
	}
	for _, tt := range tests {
		c := e.Client(t)
		cb := e.providerTrip(t, c, "/oauth/acme/start?redirect_to="+url.QueryEscape(tt.redirectTo))
		loc := visit(t, c, cb.String())
		if loc.Path != "/auth/callback" || loc.Query().Get("next") != tt.wantNext || loc.Query().Has("next") != (tt.wantNext != "") {
			t.Errorf("redirect_to %q ended at %s, want next=%q", tt.redirectTo, loc, tt.wantNext)
		}
	}

	// A hostile redirect_to on a link falls back to the dashboard.
	c := e.Client(t)
	c.Register("redir@example.com", "correct horse battery")
	e.idp.SetUser(oauthtest.User{Subject: "redir", Email: "redir@example.com"})
	r := c.Call("auth.oauth.link.start", map[string]any{"provider": "acme", "redirect_to": "https://evil.example/"})
	authorize, _ := url.Parse(r.Str("authorize_url"))
	if loc := visit(t, c, e.oauthCallbackFor(t, c, authorize)); loc.String() != e.URL+"/" {
		t.Errorf("link with a hostile redirect_to ended at %s, want the dashboard", loc)
	}
}

func TestOAuthProviderDeniedAccess(t *testing.T) {
	e := newOAuthEnv(t, latchkeytest.SQLite(t))
	c := e.Client(t)
	cb := e.providerTrip(t, c, "/oauth/acme/start")
	q := cb.Query()
	q.Del("code")
	q.Set("error", "access_denied")
	cb.RawQuery = q.Encode()
	wantLoginError(t, visit(t, c, cb.String()), "access_denied")
}

func TestOAuthStateCookie(t *testing.T) {
	e := newOAuthEnv(t, latchkeytest.SQLite(t))
	c := e.Client(t)
	r := c.Do(http.MethodGet, "/oauth/acme/start", nil, nil)
	ck := r.Cookie("latchkey_oauth")
	if r.Status != http.StatusFound || ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.MaxAge <= 0 || ck.MaxAge > 600 || ck.Path != "/oauth/acme/" {
		t.Fatalf("start: %d, state cookie %+v, want HttpOnly, SameSite=Lax, at most 10 minutes, Path=/oauth/acme/", r.Status, ck)
	}
	authorize, _ := url.Parse(r.Header.Get("Location"))
	if q := authorize.Query(); q.Get("state") == "" || q.Get("state") == ck.Value || q.Get("code_challenge_method") != "S256" || q.Get("nonce") == "" {
		t.Fatalf("authorize URL %s must carry state, nonce and PKCE S256, and not the cookie's handle", authorize)
	}

	// Attempts at two providers in one browser do not disturb each other.
	acme := e.providerTrip(t, c, "/oauth/acme/start")
	github := e.providerTrip(t, c, "/oauth/github/start")
	for _, cb := range []*url.URL{acme, github} {
		if loc := visit(t, c, cb.String()); loc.Path != "/auth/callback" {
			t.Errorf("callback %s ended at %s", cb.Path, loc)
		}
	}
}

func TestOAuthOperationsInOpenAPI(t *testing.T) {
	e := newOAuthEnv(t, latchkeytest.SQLite(t))
	r := e.Client(t).Do(http.MethodGet, "/v1/openapi.json", nil, nil)
	paths, _ := r.JSON["paths"].(map[string]any)
	for _, op := range []string{"auth.oauth.exchange", "auth.oauth.link.start", "auth.oauth.transfer.confirm", "auth.oauth.list", "auth.oauth.unlink"} {
		if paths["/v1/"+op] == nil {
			t.Errorf("OpenAPI document lacks %s", op)
		}
	}
}

func TestOAuthStartIsRateLimited(t *testing.T) {
	e := newOAuthEnv(t, latchkeytest.SQLite(t), func(c *latchkey.Config) { c.RateLimits = true })
	c := e.Client(t)
	for i := 0; ; i++ {
		loc := visit(t, c, e.URL+"/oauth/acme/start")
		if loc.Path == "/login" {
			wantLoginError(t, loc, "rate_limited")
			if i < 20 {
				t.Fatalf("limited after %d starts, want a burst of 20", i)
			}
			return
		}
		if i > 40 {
			t.Fatal("41 starts from one address were not limited")
		}
	}
}

// brokenProvider is a provider whose code has a bug: it panics.
type brokenProvider struct{}

func (brokenProvider) ID() string   { return "broken" }
func (brokenProvider) Name() string { return "Broken" }
func (brokenProvider) AuthCodeURL(context.Context, oauth.Attempt) (string, error) {
	panic("a bug in a provider")
}
func (brokenProvider) Exchange(context.Context, string, oauth.Attempt) (oauth.Identity, error) {
	panic("a bug in a provider")
}

func TestOAuthRoutesNeverAnswer500(t *testing.T) {
	env := latchkeytest.New(t, latchkeytest.Options{Server: func(c *server.Config) {
		c.OAuth, _ = oauth.NewRegistry(brokenProvider{})
	}})
	wantLoginError(t, visit(t, env.Client(t), env.URL+"/oauth/broken/start"), "server_error")
}
