package server_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/latchkey/latchkey"
	"github.com/latchkey/latchkey/latchkeytest"
	"github.com/latchkey/latchkey/server"
	"github.com/latchkey/latchkey/sso/ssotest"
)

const ownerPassword = "correct horse battery"

// ssoEnv is a server with an org owner signed in.
type ssoEnv struct {
	env   *latchkeytest.Env
	owner *latchkeytest.Client
	dns   *latchkeytest.DNS // answers the owner's domain proofs
}

func newSSOEnv(t *testing.T, db latchkeytest.Database, ownerEmail string) ssoEnv {
	t.Helper()
	d := latchkeytest.NewDNS(t)
	env := latchkeytest.New(t, latchkeytest.Options{Database: db, Configure: func(c *latchkey.Config) {
		c.SecretKey = []byte("0123456789abcdef0123456789abcdef")
		c.DNSResolver = d.Addr
	}, Server: allowPrivateNetworks})
	owner := env.Client(t)
	owner.Register(ownerEmail, ownerPassword)
	return ssoEnv{env: env, owner: owner, dns: d}
}

// allowPrivateNetworks lets SSO connections reach the in-process IdPs on
// 127.0.0.1 (LATCHKEY_SSO_ALLOW_PRIVATE_NETWORKS=on).
func allowPrivateNetworks(c *server.Config) { c.SSOAllowPrivateNetworks = true }

// createConnection creates a connection as the owner, proves its
// domains by DNS, and returns it as created.
func (e ssoEnv) createConnection(t *testing.T, body map[string]any) map[string]any {
	t.Helper()
	r := e.owner.Call("org.sso_connections.create", body)
	if r.Status != http.StatusOK {
		t.Fatalf("create connection: %d %s", r.Status, r.Body)
	}
	conn := r.Obj("sso_connection")
	proveDomains(t, e.dns, e.owner, conn)
	return conn
}

// path strips the server's base URL from an absolute URL.
func (e ssoEnv) path(t *testing.T, abs string) string {
	t.Helper()
	p, ok := strings.CutPrefix(abs, e.env.URL)
	if !ok {
		t.Fatalf("%q is not on the server %s", abs, e.env.URL)
	}
	return p
}

// samlStart opens the start URL in browser c and fetches the IdP's
// auto-submitting form, without posting it.
func (e ssoEnv) samlStart(t *testing.T, c *latchkeytest.Client, startURL string) ssotest.Form {
	t.Helper()
	r := c.Do(http.MethodGet, e.path(t, startURL), nil, nil)
	if r.Status != http.StatusFound {
		t.Fatalf("start: %d %s", r.Status, r.Body)
	}
	resp, err := http.Get(r.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	page, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("IdP: %s %s", resp.Status, page)
	}
	f, err := ssotest.ParseForm(page)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// post delivers an IdP form to the ACS from browser c and returns where
// the server redirected.
func post(t *testing.T, c *latchkeytest.Client, f ssotest.Form) *url.URL {
	t.Helper()
	resp, err := c.HTTP.PostForm(f.ACSURL, f.Values())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("ACS: %s", resp.Status)
	}
	loc, err := resp.Location()
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// exchange redeems the hand-off code of a callback redirect in browser c.
func (e ssoEnv) exchange(t *testing.T, c *latchkeytest.Client, loc *url.URL) map[string]any {
	t.Helper()
	if loc.Path != "/auth/callback" || loc.Query().Get("code") == "" {
		t.Fatalf("redirected to %s, want the dashboard callback with a code", loc)
	}
	r := c.Call("auth.oauth.exchange", map[string]any{"code": loc.Query().Get("code")})
	if r.Status != http.StatusOK || r.Cookie("latchkey_access") == nil {
		t.Fatalf("exchange: %d %s", r.Status, r.Body)
	}
	if _, ok := r.JSON["access_token"]; ok {
		t.Errorf("exchange returned tokens in the body; it is cookies only")
	}
	return r.Obj("user")
}

func TestSSOSAML(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		e := newSSOEnv(t, db, "owner@admins.test")
		idp := ssotest.New(t, ssotest.User{NameID: "okta-alice", Email: "alice@acme.test", Name: "Alice Liddell"})
		conn := e.createConnection(t, map[string]any{
			"protocol": "saml", "domains": []string{"Acme.test"}, "enforced": true,
			"idp_metadata_url": idp.MetadataURL,
		})
		connID, _ := conn["id"].(string)
		if !strings.HasPrefix(connID, "sso_") || conn["protocol"] != "saml" || conn["enforced"] != true {
			t.Fatalf("connection: %v", conn)
		}
		if d, _ := conn["domains"].([]any); len(d) != 1 || d[0] != "acme.test" {
			t.Errorf("domains = %v, want [acme.test]", conn["domains"])
		}
		startURL, _ := conn["start_url"].(string)
		metadataURL, _ := conn["saml_metadata_url"].(string)

		t.Run("SP metadata", func(t *testing.T) {
			r := e.owner.Do(http.MethodGet, e.path(t, metadataURL), nil, nil)
			if r.Status != http.StatusOK || !strings.Contains(string(r.Body), `entityID="`+metadataURL+`"`) ||
				!strings.Contains(string(r.Body), conn["saml_acs_url"].(string)) {
				t.Fatalf("metadata: %d %s", r.Status, r.Body)
			}
		})

		t.Run("discovery", func(t *testing.T) {
			anon := e.env.Client(t)
			r := anon.Call("auth.sso.discover", map[string]any{"email": "Alice@ACME.test"})
			if r.Status != http.StatusOK || r.JSON["sso"] != true || r.JSON["required"] != true ||
				r.Str("connection_id") != connID || r.Str("protocol") != "saml" || r.Str("start_url") != startURL {
				t.Fatalf("discover known: %d %s", r.Status, r.Body)
			}
			for _, email := range []string{"bob@unknown.test", "carol@sub.acme.test"} {
				r := anon.Call("auth.sso.discover", map[string]any{"email": email})
				if r.Status != http.StatusOK || len(r.JSON) != 1 || r.JSON["sso"] != false {
					t.Errorf("discover %s: %d %s, want exactly {\"sso\": false}", email, r.Status, r.Body)
				}
			}
			if r := anon.Call("auth.sso.discover", map[string]any{"email": "not an email"}); r.Status != http.StatusBadRequest {
				t.Errorf("discover bad email: %d %s", r.Status, r.Body)
			}
		})

		var aliceID string
		t.Run("JIT sign-up", func(t *testing.T) {
			b := e.env.Client(t)
			user := e.exchange(t, b, post(t, b, e.samlStart(t, b, startURL)))
			aliceID, _ = user["id"].(string)
			if user["email"] != "alice@acme.test" || user["email_verified"] != true || user["has_password"] != false || user["name"] != "Alice Liddell" {
				t.Fatalf("user = %v", user)
			}
			me := b.Get("auth.me")
			ownerMe := e.owner.Get("auth.me")
			if me.Str("role") != "member" || me.Obj("org")["id"] != ownerMe.Obj("org")["id"] {
				t.Fatalf("me = %s, want a member of the owner's org %v", me.Body, ownerMe.Obj("org"))
			}
		})

		t.Run("returning sign-in", func(t *testing.T) {
			b := e.env.Client(t)
			user := e.exchange(t, b, post(t, b, e.samlStart(t, b, startURL)))
			if user["id"] != aliceID {
				t.Fatalf("returning user %v, want %s", user["id"], aliceID)
			}
		})

		t.Run("code is single use", func(t *testing.T) {
			b := e.env.Client(t)
			loc := post(t, b, e.samlStart(t, b, startURL))
			e.exchange(t, b, loc)
			r := b.Call("auth.oauth.exchange", map[string]any{"code": loc.Query().Get("code")})
			if r.Status != http.StatusBadRequest || r.Code() != "invalid_code" {
				t.Fatalf("second exchange: %d %s", r.Status, r.Body)
			}
		})

		t.Run("enforcement blocks password sign-in", func(t *testing.T) {
			anon := e.env.Client(t)
			for _, op := range []string{"auth.login", "auth.login_or_register", "auth.register"} {
				r := anon.Call(op, map[string]any{"email": "alice@acme.test", "password": ownerPassword})
				if r.Status != http.StatusForbidden || r.Code() != "sso_required" || r.Cookie("latchkey_access") != nil {
					t.Errorf("%s: %d %s, want 403 sso_required and no session", op, r.Status, r.Body)
				}
			}
			// Password reset too, for an account or not: the domain decides.
			for _, email := range []string{"alice@acme.test", "nobody@acme.test"} {
				if r := anon.Call("auth.password.reset.request", map[string]any{"email": email}); r.Status != http.StatusForbidden || r.Code() != "sso_required" {
					t.Errorf("reset for %s: %d %s, want 403 sso_required", email, r.Status, r.Body)
				}
			}
			if r := anon.Call("auth.password.reset.request", map[string]any{"email": "owner@admins.test"}); r.Status != http.StatusOK {
				t.Errorf("reset outside the domain: %d %s", r.Status, r.Body)
			}
		})

		t.Run("hostile responses", func(t *testing.T) {
			tests := []struct {
				mode ssotest.Mode
				code string
			}{
				{ssotest.Tampered, "sso_failed"},
				{ssotest.Unsigned, "sso_failed"},
				{ssotest.WrongAudience, "sso_failed"},
				{ssotest.Expired, "sso_failed"},
				{ssotest.ReplayAssertion, "sso_replayed"},
			}
			for _, tt := range tests {
				b := e.env.Client(t)
				idp.SetMode(ssotest.Honest)
				e.exchange(t, b, post(t, b, e.samlStart(t, b, startURL))) // a fresh assertion to replay
				idp.SetMode(tt.mode)
				wantLoginError(t, post(t, b, e.samlStart(t, b, startURL)), tt.code)
				if me := b.Get("auth.me"); me.Obj("user")["email"] == ssotest.Tamper {
					t.Fatalf("mode %d signed in the attacker", tt.mode)
				}
			}
			idp.SetMode(ssotest.Honest)
		})

		t.Run("response posted again", func(t *testing.T) {
			b := e.env.Client(t)
			f := e.samlStart(t, b, startURL)
			e.exchange(t, b, post(t, b, f))
			wantLoginError(t, post(t, b, f), "invalid_state")
			// Even from a browser with a fresh attempt of its own.
			e.samlStart(t, b, startURL)
			wantLoginError(t, post(t, b, f), "invalid_state")
		})

		t.Run("RelayState bound to the browser", func(t *testing.T) {
			victim, attacker := e.env.Client(t), e.env.Client(t)
			f := e.samlStart(t, attacker, startURL)
			wantLoginError(t, post(t, victim, f), "invalid_state")
		})

		t.Run("domain claimed twice", func(t *testing.T) {
			other := e.env.Client(t)
			other.Register("root@other.test", ownerPassword)
			if r := other.Call("org.sso_connections.delete", map[string]any{"id": connID}); r.Status != http.StatusNotFound {
				t.Errorf("another org deletes the connection: %d %s, want 404", r.Status, r.Body)
			}
			for _, domains := range [][]string{{"acme.test"}, {"fresh.test", "ACME.TEST"}} {
				r := other.Call("org.sso_connections.create", map[string]any{
					"protocol": "saml", "domains": domains, "enforced": false, "idp_metadata_xml": string(idp.Metadata()),
				})
				if r.Status != http.StatusConflict || r.Code() != "domain_taken" {
					t.Errorf("claim %v again: %d %s, want 409 domain_taken", domains, r.Status, r.Body)
				}
			}
			if r := e.owner.Call("org.sso_connections.create", map[string]any{
				"protocol": "saml", "domains": []string{"acme.test"}, "enforced": false, "idp_metadata_xml": string(idp.Metadata()),
			}); r.Status != http.StatusConflict || r.Code() != "domain_taken" {
				t.Errorf("same org claims again: %d %s", r.Status, r.Body)
			}
		})

		t.Run("members may not manage connections", func(t *testing.T) {
			b := e.env.Client(t)
			e.exchange(t, b, post(t, b, e.samlStart(t, b, startURL)))
			for op, body := range map[string]any{
				"org.sso_connections.list":   map[string]any{},
				"org.sso_connections.delete": map[string]any{"id": connID},
				"org.sso_connections.create": map[string]any{"protocol": "saml", "domains": []string{"x.test"}, "enforced": false, "idp_metadata_url": idp.MetadataURL},
			} {
				if r := b.Call(op, body); r.Status != http.StatusForbidden || r.Code() != "forbidden" {
					t.Errorf("%s as member: %d %s", op, r.Status, r.Body)
				}
			}
		})

		t.Run("delete", func(t *testing.T) {
			if r := e.owner.Call("org.sso_connections.delete", map[string]any{"id": connID}); r.Status != http.StatusOK {
				t.Fatalf("delete: %d %s", r.Status, r.Body)
			}
			if r := e.owner.Get("org.sso_connections.list"); len(r.JSON["sso_connections"].([]any)) != 0 {
				t.Errorf("list after delete: %s", r.Body)
			}
			anon := e.env.Client(t)
			if r := anon.Call("auth.sso.discover", map[string]any{"email": "alice@acme.test"}); r.JSON["sso"] != false {
				t.Errorf("discover after delete: %s", r.Body)
			}
			if r := anon.Call("auth.login", map[string]any{"email": "alice@acme.test", "password": ownerPassword}); r.Code() != "password_not_set" {
				t.Errorf("login after delete: %d %s, want password_not_set", r.Status, r.Body)
			}
			if r := anon.Do(http.MethodGet, e.path(t, startURL), nil, nil); r.Status != http.StatusFound || !strings.Contains(r.Header.Get("Location"), "/login?error=not_found") {
				t.Errorf("start after delete: %d %s", r.Status, r.Header.Get("Location"))
			}
		})
	})
}
