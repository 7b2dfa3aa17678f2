package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/latchkeytest"
	"github.com/latchkey/latchkey/oauth/oauthtest"
)

// oidcSignIn runs a sign-in at an OIDC connection in browser c and
// returns where the callback redirected.
func (e ssoEnv) oidcSignIn(t *testing.T, c *latchkeytest.Client, startURL string) *url.URL {
	t.Helper()
	r := c.Do(http.MethodGet, e.path(t, startURL), nil, nil)
	if r.Status != http.StatusFound {
		t.Fatalf("start: %d %s", r.Status, r.Body)
	}
	authorize := r.Header.Get("Location")
	for _, p := range []string{"code_challenge_method=S256", "nonce=", "state="} {
		if !strings.Contains(authorize, p) {
			t.Errorf("authorize URL %s lacks %s", authorize, p)
		}
	}
	cb := oauthtest.Approve(t, authorize)
	r = c.Do(http.MethodGet, e.path(t, cb.String()), nil, nil)
	if r.Status != http.StatusFound {
		t.Fatalf("callback: %d %s", r.Status, r.Body)
	}
	loc, err := url.Parse(r.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestSSOOIDC(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		// The owner's own address is at the connection's domain: SSO
		// finds them by email within the org.
		e := newSSOEnv(t, db, "dana@beta.test")
		idp := oauthtest.NewOIDC(t)
		conn := e.createConnection(t, map[string]any{
			"protocol": "oidc", "domains": []string{"beta.test"}, "enforced": false,
			"issuer": idp.URL, "client_id": idp.ClientID, "client_secret": idp.ClientSecret,
		})
		startURL, _ := conn["start_url"].(string)
		if conn["oidc_redirect_uri"] != strings.TrimSuffix(startURL, "/start")+"/oidc/callback" {
			t.Errorf("redirect URI = %v", conn["oidc_redirect_uri"])
		}

		t.Run("client secret never returned", func(t *testing.T) {
			for _, r := range []*latchkeytest.Response{e.owner.Get("org.sso_connections.list"), e.owner.Call("org.sso_connections.list", map[string]any{})} {
				if r.Status != http.StatusOK || strings.Contains(string(r.Body), idp.ClientSecret) || strings.Contains(string(r.Body), "client_secret") {
					t.Errorf("list: %d %s", r.Status, r.Body)
				}
			}
			stored, err := e.env.Store.SSOConnectionByID(t.Context(), conn["id"].(string))
			if err != nil {
				t.Fatal(err)
			}
			if sealed := stored.ClientSecret.Reveal(); !strings.HasPrefix(sealed, "v1:") || strings.Contains(sealed, idp.ClientSecret) {
				t.Errorf("client secret stored as %q, want sealed", sealed)
			}
		})

		t.Run("discovery", func(t *testing.T) {
			r := e.env.Client(t).Call("auth.sso.discover", map[string]any{"email": "x@beta.test"})
			if r.JSON["sso"] != true || r.JSON["required"] != false || r.Str("protocol") != "oidc" || r.Str("start_url") != startURL {
				t.Fatalf("discover: %s", r.Body)
			}
		})

		var carolID string
		t.Run("JIT sign-up", func(t *testing.T) {
			idp.SetUser(oauthtest.User{Subject: "entra-carol", Email: "carol@beta.test", EmailVerified: true, Name: "Carol"})
			b := e.env.Client(t)
			user := e.exchange(t, b, e.oidcSignIn(t, b, startURL))
			carolID, _ = user["id"].(string)
			if user["email"] != "carol@beta.test" || user["email_verified"] != true || user["has_password"] != false {
				t.Fatalf("user = %v", user)
			}
			if me := b.Get("auth.me"); me.Str("role") != "member" || me.Obj("org")["id"] != e.owner.Get("auth.me").Obj("org")["id"] {
				t.Fatalf("me = %s", me.Body)
			}
		})

		t.Run("returning sign-in by subject", func(t *testing.T) {
			// The IdP renamed the address; the subject still finds Carol.
			idp.SetUser(oauthtest.User{Subject: "entra-carol", Email: "carol.new@beta.test", EmailVerified: true})
			b := e.env.Client(t)
			if user := e.exchange(t, b, e.oidcSignIn(t, b, startURL)); user["id"] != carolID {
				t.Fatalf("user %v, want %s", user["id"], carolID)
			}
		})

		t.Run("found by email within the org", func(t *testing.T) {
			idp.SetUser(oauthtest.User{Subject: "entra-dana", Email: "dana@beta.test", EmailVerified: true})
			b := e.env.Client(t)
			if user := e.exchange(t, b, e.oidcSignIn(t, b, startURL)); user["id"] != e.owner.Get("auth.me").Obj("user")["id"] {
				t.Fatalf("user %v, want the owner", user)
			}
		})

		t.Run("account outside the org is not taken over", func(t *testing.T) {
			e.env.Client(t).Register("erin@beta.test", ownerPassword)
			idp.SetUser(oauthtest.User{Subject: "entra-erin", Email: "erin@beta.test", EmailVerified: true})
			b := e.env.Client(t)
			wantLoginError(t, e.oidcSignIn(t, b, startURL), "account_exists")
		})

		t.Run("email outside the domains", func(t *testing.T) {
			idp.SetUser(oauthtest.User{Subject: "entra-mallory", Email: "mallory@elsewhere.test", EmailVerified: true})
			b := e.env.Client(t)
			wantLoginError(t, e.oidcSignIn(t, b, startURL), "sso_domain_mismatch")
		})

		t.Run("forged ID token", func(t *testing.T) {
			idp.SetUser(oauthtest.User{Subject: "entra-carol", Email: "carol@beta.test", EmailVerified: true})
			for claim, value := range map[string]any{"nonce": "forged", "aud": "another-client", "iss": "https://evil.test"} {
				idp.EditIDToken(func(c map[string]any) { c[claim] = value })
				b := e.env.Client(t)
				wantLoginError(t, e.oidcSignIn(t, b, startURL), "sso_failed")
			}
			idp.EditIDToken(nil)
		})

		t.Run("state bound to the browser", func(t *testing.T) {
			victim, attacker := e.env.Client(t), e.env.Client(t)
			r := attacker.Do(http.MethodGet, e.path(t, startURL), nil, nil)
			cb := oauthtest.Approve(t, r.Header.Get("Location"))
			r = victim.Do(http.MethodGet, e.path(t, cb.String()), nil, nil)
			loc, _ := url.Parse(r.Header.Get("Location"))
			wantLoginError(t, loc, "invalid_state")
		})

		t.Run("enforcement", func(t *testing.T) {
			anon := e.env.Client(t)
			if r := anon.Call("auth.login", map[string]any{"email": "dana@beta.test", "password": ownerPassword}); r.Status != http.StatusOK {
				t.Fatalf("login before enforcement: %d %s", r.Status, r.Body)
			}
			// Re-create the connection enforced.
			if r := e.owner.Call("org.sso_connections.delete", map[string]any{"id": conn["id"]}); r.Status != http.StatusOK {
				t.Fatal(r.Status)
			}
			enforced := e.createConnection(t, map[string]any{
				"protocol": "oidc", "domains": []string{"beta.test"}, "enforced": true,
				"issuer": idp.URL, "client_id": idp.ClientID, "client_secret": idp.ClientSecret,
			})
			if r := anon.Call("auth.login", map[string]any{"email": "dana@beta.test", "password": ownerPassword}); r.Status != http.StatusForbidden || r.Code() != "sso_required" {
				t.Fatalf("login after enforcement: %d %s", r.Status, r.Body)
			}

			// The new connection has not discovered its IdP yet: while the
			// IdP is down, starting fails in words, and works once it is back.
			idp.SetDown(true)
			r := anon.Do(http.MethodGet, e.path(t, enforced["start_url"].(string)), nil, nil)
			loc, _ := url.Parse(r.Header.Get("Location"))
			idp.SetDown(false)
			wantLoginError(t, loc, "sso_unavailable")
			idp.SetUser(oauthtest.User{Subject: "entra-dana", Email: "dana@beta.test", EmailVerified: true})
			if user := e.exchange(t, anon, e.oidcSignIn(t, anon, enforced["start_url"].(string))); user["email"] != "dana@beta.test" {
				t.Fatalf("SSO sign-in under enforcement: %v", user)
			}
		})
	})
}
