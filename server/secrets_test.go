package server_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey"
	"github.com/latchkey/latchkey/latchkeytest"
	"github.com/latchkey/latchkey/oauth/oauthtest"
	"github.com/latchkey/latchkey/sso/ssotest"
)

// rawSecrets reads, with plain SQL as a thief with a database copy would,
// every stored value that holds a private key or a client secret.
func rawSecrets(t *testing.T, db latchkeytest.Database) []string {
	t.Helper()
	conn := rawDB(t, db)
	var out []string
	for _, q := range []string{
		`SELECT private_key FROM signing_keys`,
		`SELECT private_key FROM saml_keys`,
		`SELECT client_secret FROM sso_connections WHERE client_secret <> ''`,
		`SELECT secret FROM mfa_factors`,
	} {
		rows, err := conn.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var v string
			if err := rows.Scan(&v); err != nil {
				t.Fatal(err)
			}
			out = append(out, v)
		}
		rows.Close()
	}
	return out
}

// TestSecretsSealedAtRest: a deployment from before the server secret
// stored its signing key, SAML SP key and an OIDC client secret in clear;
// the first start with a secret seals every row, the raw rows then
// reveal none of them, and everything keeps working, including tokens
// signed before.
func TestSecretsSealedAtRest(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		d := latchkeytest.NewDNS(t)
		opts := func(key []byte) latchkeytest.Options {
			return latchkeytest.Options{Database: db, Server: allowPrivateNetworks, Configure: func(c *latchkey.Config) {
				c.Issuer, c.SecretKey, c.DNSResolver = "https://issuer.example.com", key, d.Addr
			}}
		}
		old := latchkeytest.New(t, opts(nil))
		owner := old.Client(t)
		token := owner.Register("owner@sealed.test", ownerPassword).Str("access_token")
		idp := oauthtest.NewOIDC(t)
		wantOK(t, "oidc connection", owner.Call("org.sso_connections.create", map[string]any{
			"protocol": "oidc", "domains": []string{"sealed.test"}, "enforced": false,
			"issuer": idp.URL, "client_id": idp.ClientID, "client_secret": idp.ClientSecret,
		}))
		saml := ssotest.New(t, ssotest.User{NameID: "x", Email: "x@saml.test"})
		r := owner.Call("org.sso_connections.create", map[string]any{
			"protocol": "saml", "domains": []string{"saml.test"}, "enforced": false, "idp_metadata_xml": string(saml.Metadata()),
		})
		wantOK(t, "saml connection", r)
		meta := r.Obj("sso_connection")["saml_metadata_url"].(string)
		if r := owner.Do(http.MethodGet, strings.TrimPrefix(meta, old.URL), nil, nil); r.Status != http.StatusOK {
			t.Fatalf("SP metadata (creates the SAML key): %d", r.Status)
		}
		// An authenticator app: its TOTP seed is a secret at rest too.
		enroll := owner.Call("auth.mfa.totp.enroll", map[string]any{})
		seed := enroll.Str("secret")
		wantOK(t, "totp confirm", owner.Call("auth.mfa.totp.confirm", map[string]any{"factor_id": enroll.Str("factor_id"), "code": totpAt(t, seed, old.Clock.Now())}))
		before := rawSecrets(t, db)
		if len(before) != 4 {
			t.Fatalf("%d secret rows, want signing key, SAML key, client secret, TOTP seed", len(before))
		}
		// The test can fail: the unsealed rows give the secrets away.
		if !strings.Contains(strings.Join(before, "\n"), idp.ClientSecret) || !strings.Contains(strings.Join(before, "\n"), "PRIVATE KEY") || !strings.Contains(strings.Join(before, "\n"), seed) {
			t.Fatalf("unsealed rows do not hold the clear secrets: %q", before)
		}

		node := latchkeytest.New(t, opts(latchkeytest.SecretKey))
		after := rawSecrets(t, db)
		joined := strings.Join(after, "\n")
		for i, v := range after {
			if !strings.HasPrefix(v, "v1:") {
				t.Errorf("row %d not sealed: %.20q", i, v)
			}
			if v == before[i] {
				t.Errorf("row %d unchanged", i)
			}
		}
		for _, clear := range append(before, idp.ClientSecret, "PRIVATE KEY", seed) {
			if strings.Contains(joined, strings.TrimPrefix(clear, "plain:")) {
				t.Errorf("a sealed row still contains %.24q", clear)
			}
		}
		// Sealed rows still work: the old token verifies, new sign-ins,
		// SAML metadata and the OIDC secret (opened to start a sign-in).
		wantTokenWorks(t, node, "pre-seal token", token)
		// The sealed seed still checks codes: sign-in with the next step's code.
		_, mfaToken, _ := mfaChallenge(t, node, "owner@sealed.test")
		wantOK(t, "TOTP after sealing", node.Client(t).Call("auth.mfa.verify", map[string]any{"mfa_token": mfaToken, "code": totpAt(t, seed, node.Clock.Now().Add(30*time.Second))}))
		if r := node.Client(t).Do(http.MethodGet, strings.TrimPrefix(meta, old.URL), nil, nil); r.Status != http.StatusOK {
			t.Errorf("SP metadata after sealing: %d", r.Status)
		}
		conns, err := node.Service.ListSSOConnections(t.Context(), &latchkey.AuthContext{Org: latchkey.Org{ID: owner.Get("auth.me").Obj("org")["id"].(string)}, Role: latchkey.RoleOwner})
		if err != nil || len(conns) != 2 {
			t.Fatalf("connections: %v %v", conns, err)
		}
		if c, err := node.Service.SSOConnection(t.Context(), conns[0].ID); err != nil || c.ClientSecret.Reveal() != idp.ClientSecret {
			t.Errorf("client secret after sealing: %v", err)
		}
		// A second start finds nothing left to seal and changes nothing.
		latchkeytest.New(t, opts(latchkeytest.SecretKey))
		if again := rawSecrets(t, db); strings.Join(again, "\n") != joined {
			t.Error("a second start resealed the rows")
		}
	})
}
