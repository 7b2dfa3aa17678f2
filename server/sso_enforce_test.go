package server_test

import (
	"net/http"
	"testing"

	"github.com/latchkey/latchkey/latchkeytest"
	"github.com/latchkey/latchkey/oauth/oauthtest"
	"github.com/latchkey/latchkey/sso/ssotest"
)

// TestSSOEnforcementBlocksOAuth signs people in with a social provider,
// then lets an org enforce SSO on their domain: neither returning nor new
// OAuth sign-ins get a session any more, and SSO sign-up is recorded.
func TestSSOEnforcementBlocksOAuth(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		e := newOAuthEnv(t, db)
		e.idp.SetUser(oauthtest.User{Subject: "acme-olga", Email: "olga@corp.test", EmailVerified: true})
		e.signInAndExchange(t, e.Client(t), "acme")

		admin := e.Client(t)
		admin.Register("it@corp-admins.test", ownerPassword)
		saml := ssotest.New(t, ssotest.User{NameID: "corp-pat", Email: "pat@corp.test"})
		// Pasted metadata: this server keeps SSO's default guard against
		// private networks, and its OAuth providers (operator config, on
		// 127.0.0.1) must work regardless.
		r := admin.Call("org.sso_connections.create", map[string]any{
			"protocol": "saml", "domains": []string{"corp.test"}, "enforced": true, "idp_metadata_xml": string(saml.Metadata()),
		})
		if r.Status != http.StatusOK {
			t.Fatalf("create: %d %s", r.Status, r.Body)
		}
		// Enforcement starts once the domain is proven (here by the
		// operator's override).
		wantOK(t, "admin verify", adminKey(t, e.Env).Call("admin.sso_domains.verify", map[string]any{"domain": "corp.test"}))

		t.Run("returning OAuth identity", func(t *testing.T) {
			wantLoginError(t, e.signIn(t, e.Client(t), "acme"), "sso_required")
		})
		t.Run("new OAuth identity", func(t *testing.T) {
			e.idp.SetUser(oauthtest.User{Subject: "acme-pat", Email: "pat@corp.test", EmailVerified: true})
			wantLoginError(t, e.signIn(t, e.Client(t), "acme"), "sso_required")
		})
		t.Run("password sign-in of the OAuth account", func(t *testing.T) {
			r := e.Client(t).Call("auth.login", map[string]any{"email": "olga@corp.test", "password": "whatever-password"})
			if r.Status != http.StatusForbidden || r.Code() != "sso_required" {
				t.Fatalf("login: %d %s", r.Status, r.Body)
			}
		})
		t.Run("SSO sign-up is tracked", func(t *testing.T) {
			se := ssoEnv{env: e.Env, owner: admin}
			b := e.Client(t)
			user := se.exchange(t, b, post(t, b, se.samlStart(t, b, r.Obj("sso_connection")["start_url"].(string))))
			id, _ := user["id"].(string)
			e.wantEvent(t, "signup_completed", id, "sso")
			e.wantEvent(t, "login_succeeded", id, "sso")
		})
	})
}
