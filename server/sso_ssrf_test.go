package server_test

import (
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/latchkey/latchkey/latchkeytest"
	"github.com/latchkey/latchkey/sso/ssotest"
)

// TestSSOConnectionNonPublicRefused: by default (no
// LATCHKEY_SSO_ALLOW_PRIVATE_NETWORKS) an org owner — anyone who signed
// up — cannot make the server fetch from loopback, private or link-local
// addresses through a connection's metadata URL or issuer. Every refusal
// is the same 400 as any other failed fetch, and nothing reaches the
// loopback server, which would have answered usable metadata.
func TestSSOConnectionNonPublicRefused(t *testing.T) {
	env := latchkeytest.New(t, latchkeytest.Options{})
	owner := env.Client(t)
	owner.Register("owner@admins.test", ownerPassword)

	idp := ssotest.New(t, ssotest.User{NameID: "x", Email: "x@ssrf.test"})
	var hits atomic.Int64
	internal := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write(idp.Metadata())
	}))
	t.Cleanup(internal.Close)
	_, port, _ := net.SplitHostPort(internal.Listener.Addr().String())

	// The answer of a fetch that fails for an ordinary reason (with
	// private networks allowed, a closed port) is what every refusal
	// must look like, so the API tells nothing about the address.
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()
	open := newSSOEnv(t, latchkeytest.SQLite(t), "owner@open.test")
	want := map[string]map[string]any{}
	for _, proto := range []string{"saml", "oidc"} {
		r := open.owner.Call("org.sso_connections.create", connectionTo(proto, "closed.test", closedURL))
		if r.Status != http.StatusBadRequest || r.Code() != "invalid_request" {
			t.Fatalf("%s at a closed port: %d %s", proto, r.Status, r.Body)
		}
		want[proto] = r.Obj("error")
	}

	for _, tt := range []struct{ name, url string }{
		{"loopback", "http://127.0.0.1:" + port + "/metadata"},
		{"loopback IPv6", "http://[::1]:" + port + "/metadata"},
		{"name resolving to loopback", "http://localhost:" + port + "/metadata"},
		{"private", "http://10.0.0.1:1/metadata"},
		{"cloud metadata", "http://169.254.169.254/latest/meta-data/"},
		{"unspecified", "http://0.0.0.0:" + port + "/metadata"},
		{"IPv4-mapped loopback", "http://[::ffff:127.0.0.1]:" + port + "/metadata"},
	} {
		for _, proto := range []string{"saml", "oidc"} {
			t.Run(tt.name+"/"+proto, func(t *testing.T) {
				r := owner.Call("org.sso_connections.create", connectionTo(proto, "ssrf.test", tt.url))
				got := r.Obj("error")
				if r.Status != http.StatusBadRequest || got["code"] != want[proto]["code"] ||
					got["field"] != want[proto]["field"] || got["message"] != want[proto]["message"] {
					t.Errorf("%d %s, want 400 with %v", r.Status, r.Body, want[proto])
				}
			})
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("%d requests reached the loopback server", n)
	}
	// With private networks allowed the same URL works: the refusals
	// above were the guard's, not a broken test server's.
	if r := open.owner.Call("org.sso_connections.create", connectionTo("saml", "allowed.test", "http://127.0.0.1:"+port+"/metadata")); r.Status != http.StatusOK || hits.Load() == 0 {
		t.Errorf("allowed loopback metadata: %d %s", r.Status, r.Body)
	}
	if r := owner.Get("org.sso_connections.list"); r.Status != http.StatusOK || len(r.JSON["sso_connections"].([]any)) != 0 {
		t.Errorf("refused connections were stored: %s", r.Body)
	}
}

// connectionTo is a create request whose IdP lives at u: the SAML
// metadata URL, or the OIDC issuer.
func connectionTo(proto, domain, u string) map[string]any {
	body := map[string]any{"protocol": proto, "domains": []string{domain}, "enforced": false}
	if proto == "saml" {
		body["idp_metadata_url"] = u
	} else {
		body["issuer"], body["client_id"], body["client_secret"] = u, "cid", "csecret"
	}
	return body
}
