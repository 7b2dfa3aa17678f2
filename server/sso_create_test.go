package server_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/latchkey/latchkey"
	"github.com/latchkey/latchkey/latchkeytest"
	"github.com/latchkey/latchkey/sso/ssotest"
)

func TestSSOConnectionCreateValidation(t *testing.T) {
	e := newSSOEnv(t, latchkeytest.SQLite(t), "owner@admins.test")
	idp := ssotest.New(t, ssotest.User{NameID: "x", Email: "x@v.test"})
	notMetadata := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("<html><body>login page</body></html>"))
	}))
	t.Cleanup(notMetadata.Close)
	saml := func(extra map[string]any) map[string]any {
		m := map[string]any{"protocol": "saml", "domains": []string{"v.test"}, "enforced": false}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	oidc := func(extra map[string]any) map[string]any {
		m := map[string]any{"protocol": "oidc", "domains": []string{"v.test"}, "enforced": false,
			"issuer": "https://idp.v.test", "client_id": "cid", "client_secret": "csecret"}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"unknown protocol", map[string]any{"protocol": "ldap", "domains": []string{"v.test"}, "enforced": false}, "protocol"},
		{"no domains", saml(map[string]any{"domains": []string{}, "idp_metadata_url": idp.MetadataURL}), "domains"},
		{"not a domain", saml(map[string]any{"domains": []string{"not a domain"}, "idp_metadata_url": idp.MetadataURL}), "domains"},
		{"single label", saml(map[string]any{"domains": []string{"localhost"}, "idp_metadata_url": idp.MetadataURL}), "domains"},
		{"public mailbox provider", saml(map[string]any{"domains": []string{"Gmail.com"}, "idp_metadata_url": idp.MetadataURL}), "domains"},
		{"SAML without metadata", saml(nil), "idp_metadata_url"},
		{"SAML with both", saml(map[string]any{"idp_metadata_url": idp.MetadataURL, "idp_metadata_xml": string(idp.Metadata())}), "idp_metadata_url"},
		{"metadata URL not metadata", saml(map[string]any{"idp_metadata_url": notMetadata.URL}), "idp_metadata_url"},
		{"metadata URL unreachable", saml(map[string]any{"idp_metadata_url": idp.MetadataURL + "/missing"}), "idp_metadata_url"},
		{"metadata URL not http", saml(map[string]any{"idp_metadata_url": "file:///etc/passwd"}), "idp_metadata_url"},
		{"metadata XML garbage", saml(map[string]any{"idp_metadata_xml": "<EntityDescriptor"}), "idp_metadata_xml"},
		{"SAML with client id", saml(map[string]any{"idp_metadata_url": idp.MetadataURL, "client_id": "x"}), "issuer"},
		{"OIDC without issuer", oidc(map[string]any{"issuer": ""}), "issuer"},
		{"OIDC relative issuer", oidc(map[string]any{"issuer": "/realms/x"}), "issuer"},
		{"OIDC without client id", oidc(map[string]any{"client_id": ""}), "client_id"},
		{"OIDC without secret", oidc(map[string]any{"client_secret": ""}), "client_secret"},
		{"OIDC with metadata", oidc(map[string]any{"idp_metadata_xml": "<x/>"}), "idp_metadata_url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.owner.Call("org.sso_connections.create", tt.body)
			field, _ := r.Obj("error")["field"].(string)
			if r.Status != http.StatusBadRequest || r.Code() != "invalid_request" || field != tt.field {
				t.Fatalf("%d %s, want 400 invalid_request on %s", r.Status, r.Body, tt.field)
			}
		})
	}
	if r := e.owner.Get("org.sso_connections.list"); r.Status != http.StatusOK || len(r.JSON["sso_connections"].([]any)) != 0 {
		t.Fatalf("refused connections were stored: %s", r.Body)
	}
	anon := e.env.Client(t)
	if r := anon.Call("org.sso_connections.create", saml(map[string]any{"idp_metadata_url": idp.MetadataURL})); r.Status != http.StatusUnauthorized {
		t.Errorf("anonymous create: %d %s", r.Status, r.Body)
	}
	if r := e.owner.Call("org.sso_connections.delete", map[string]any{"id": "sso_nope"}); r.Status != http.StatusNotFound {
		t.Errorf("delete unknown: %d %s", r.Status, r.Body)
	}
}

// TestSSOStartRateLimited: each start stores an attempt, so one client
// cannot start without bound.
func TestSSOStartRateLimited(t *testing.T) {
	env := latchkeytest.New(t, latchkeytest.Options{Configure: func(c *latchkey.Config) { c.RateLimits = true }, Server: allowPrivateNetworks})
	owner := env.Client(t)
	owner.Register("owner@admins.test", ownerPassword)
	idp := ssotest.New(t, ssotest.User{NameID: "x", Email: "x@rl.test"})
	r := owner.Call("org.sso_connections.create", map[string]any{"protocol": "saml", "domains": []string{"rl.test"}, "enforced": false, "idp_metadata_url": idp.MetadataURL})
	if r.Status != http.StatusOK {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	start := strings.TrimPrefix(r.Obj("sso_connection")["start_url"].(string), env.URL)
	b := env.Client(t)
	for i := 0; ; i++ {
		loc, _ := url.Parse(b.Do(http.MethodGet, start, nil, nil).Header.Get("Location"))
		if loc.Path == "/login" {
			if got := loc.Query().Get("error"); got != "rate_limited" || i < 20 {
				t.Fatalf("start %d ended at %s, want rate_limited after the burst of 20", i+1, loc)
			}
			return
		}
		if i > 40 {
			t.Fatal("start never rate limited")
		}
	}
}

func TestSSOOperationsInOpenAPI(t *testing.T) {
	env := latchkeytest.New(t, latchkeytest.Options{})
	r := env.Client(t).Do(http.MethodGet, "/v1/openapi.json", nil, nil)
	paths, _ := r.JSON["paths"].(map[string]any)
	for _, op := range []string{"auth.sso.discover", "org.sso_connections.create", "org.sso_connections.list", "org.sso_connections.delete"} {
		if paths["/v1/"+op] == nil {
			t.Errorf("OpenAPI document lacks %s", op)
		}
	}
}
