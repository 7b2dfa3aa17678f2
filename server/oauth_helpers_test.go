package server_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/latchkey/latchkey"
	"github.com/latchkey/latchkey/analytics"
	"github.com/latchkey/latchkey/analytics/analyticstest"
	"github.com/latchkey/latchkey/latchkeytest"
	"github.com/latchkey/latchkey/oauth"
	"github.com/latchkey/latchkey/oauth/oauthtest"
	"github.com/latchkey/latchkey/server"
)

// oauthEnv is a Latchkey server with two providers enabled: "acme", a
// generic OpenID Connect provider found by discovery at an in-process IdP,
// and "github", pointed at a local stand-in through the endpoint overrides.
type oauthEnv struct {
	*latchkeytest.Env
	idp     *oauthtest.OIDC
	gh      *oauthtest.GitHub
	posthog *analyticstest.Server // receives the analytics events over HTTP
}

func newOAuthEnv(t *testing.T, db latchkeytest.Database, configure ...func(*latchkey.Config)) *oauthEnv {
	t.Helper()
	e := &oauthEnv{idp: oauthtest.NewOIDC(t), gh: oauthtest.NewGitHub(t), posthog: analyticstest.Start(t)}
	events := analytics.New("phc_test", e.posthog.URL, latchkeytest.Logger())
	t.Cleanup(func() { events.Close() })
	e.Env = latchkeytest.New(t, latchkeytest.Options{
		Database: db,
		Configure: func(c *latchkey.Config) {
			for _, f := range configure {
				f(c)
			}
		},
		Service: func(s *latchkey.Service) { s.Analytics = events },
		Server: func(c *server.Config) {
			acme, err := oauth.New(oauth.Config{
				ID: "acme", Name: "Acme", Issuer: e.idp.URL,
				ClientID: e.idp.ClientID, ClientSecret: e.idp.ClientSecret,
				RedirectURL: c.PublicURL + "/oauth/acme/callback",
			})
			if err != nil {
				t.Fatal(err)
			}
			github, err := oauth.New(oauth.Config{
				ID: "github", ClientID: e.gh.ClientID, ClientSecret: e.gh.ClientSecret,
				AuthURL: e.gh.AuthURL(), TokenURL: e.gh.TokenURL(), UserInfoURL: e.gh.UserInfoURL(),
				RedirectURL: c.PublicURL + "/oauth/github/callback",
			})
			if err != nil {
				t.Fatal(err)
			}
			if c.OAuth, err = oauth.NewRegistry(acme, github); err != nil {
				t.Fatal(err)
			}
		},
	})
	return e
}

// visit GETs a browser route and returns where it redirects to.
func visit(t *testing.T, c *latchkeytest.Client, rawURL string) *url.URL {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	r := c.Do(http.MethodGet, u.RequestURI(), nil, nil)
	if r.Status != http.StatusFound {
		t.Fatalf("GET %s: status %d, want 302: %s", u.Path, r.Status, r.Body)
	}
	loc, err := url.Parse(r.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// providerTrip starts at /oauth/{provider}/start (start may add a query),
// lets the provider approve, and returns the callback URL the provider sent
// the browser to, without visiting it.
func (e *oauthEnv) providerTrip(t *testing.T, c *latchkeytest.Client, start string) *url.URL {
	t.Helper()
	authorize := visit(t, c, e.URL+start)
	return oauthtest.Approve(t, authorize.String())
}

// signIn runs a whole provider sign-in in browser c and returns where the
// callback finally sent the browser.
func (e *oauthEnv) signIn(t *testing.T, c *latchkeytest.Client, provider string) *url.URL {
	t.Helper()
	cb := e.providerTrip(t, c, "/oauth/"+provider+"/start")
	return visit(t, c, cb.String())
}

// signInAndExchange signs in through provider and trades the code for a
// session; it returns the signed-in user object.
func (e *oauthEnv) signInAndExchange(t *testing.T, c *latchkeytest.Client, provider string) map[string]any {
	t.Helper()
	loc := e.signIn(t, c, provider)
	if loc.Path != "/auth/callback" || loc.Query().Get("code") == "" {
		t.Fatalf("sign-in ended at %s, want /auth/callback?code=", loc)
	}
	r := c.Call("auth.oauth.exchange", map[string]any{"code": loc.Query().Get("code")})
	if r.Status != http.StatusOK {
		t.Fatalf("exchange: %d %s", r.Status, r.Body)
	}
	if r.Str("access_token") != "" || r.Cookie("latchkey_access") == nil {
		t.Fatalf("exchange must set a session in cookies only: %s", r.Body)
	}
	return r.Obj("user")
}

// wantLoginError checks that a flow ended at <dashboard>/login?error=code.
func wantLoginError(t *testing.T, loc *url.URL, code string) {
	t.Helper()
	if loc.Path != "/login" || loc.Query().Get("error") != code {
		t.Fatalf("flow ended at %s, want /login?error=%s", loc, code)
	}
}

// verifyEmail marks a user's email verified, as auth.email.verify would.
func (e *oauthEnv) verifyEmail(t *testing.T, email string) {
	t.Helper()
	ctx := context.Background()
	u, err := e.Store.UserByEmail(ctx, email)
	if err != nil {
		t.Fatal(err)
	}
	u.EmailVerified = true
	if err := e.Store.UpdateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
}

func (e *oauthEnv) identities(t *testing.T, c *latchkeytest.Client) []any {
	t.Helper()
	r := c.Get("auth.oauth.list")
	if r.Status != http.StatusOK {
		t.Fatalf("auth.oauth.list: %d %s", r.Status, r.Body)
	}
	ids, _ := r.JSON["identities"].([]any)
	return ids
}

// wantEvent waits for an analytics event called name for distinctID at
// the fake PostHog (skipping other users' events) and checks its method.
func (e *oauthEnv) wantEvent(t *testing.T, name, distinctID, method string) {
	t.Helper()
	for {
		ev := e.posthog.Next(t, name) // fails the test when none comes
		if ev.DistinctID != distinctID {
			continue
		}
		if ev.Properties["method"] != method {
			t.Errorf("%s event of %s has method %v, want %s", name, distinctID, ev.Properties["method"], method)
		}
		return
	}
}
