package oauth_test

import (
	"testing"

	"github.com/latchkey/latchkey/oauth"
)

func TestNew(t *testing.T) {
	base := oauth.Config{ClientID: "id", ClientSecret: "secret", RedirectURL: "http://127.0.0.1/cb"}
	with := func(edit func(*oauth.Config)) oauth.Config {
		c := base
		edit(&c)
		return c
	}
	tests := []struct {
		name     string
		cfg      oauth.Config
		wantName string // empty: New must fail
	}{
		{"github", with(func(c *oauth.Config) { c.ID = "github" }), "GitHub"},
		{"google needs no issuer", with(func(c *oauth.Config) { c.ID = "google" }), "Google"},
		{"generic with issuer", with(func(c *oauth.Config) { c.ID = "acme"; c.Issuer = "http://127.0.0.1:9" }), "acme"},
		{"generic with a name", with(func(c *oauth.Config) { c.ID = "acme"; c.Name = "Acme"; c.Issuer = "http://127.0.0.1:9" }), "Acme"},
		{"generic without issuer", with(func(c *oauth.Config) { c.ID = "acme" }), ""},
		{"no client id", with(func(c *oauth.Config) { c.ID = "github"; c.ClientID = "" }), ""},
		{"no redirect URL", with(func(c *oauth.Config) { c.ID = "github"; c.RedirectURL = "" }), ""},
		{"upper-case id", with(func(c *oauth.Config) { c.ID = "ACME"; c.Issuer = "http://127.0.0.1:9" }), ""},
		{"id with a slash", with(func(c *oauth.Config) { c.ID = "a/b"; c.Issuer = "http://127.0.0.1:9" }), ""},
		{"empty id", with(func(c *oauth.Config) { c.Issuer = "http://127.0.0.1:9" }), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := oauth.New(tt.cfg)
			if tt.wantName == "" {
				if err == nil {
					t.Fatalf("New(%+v) succeeded, want an error", tt.cfg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.ID() != tt.cfg.ID || p.Name() != tt.wantName {
				t.Errorf("got %s/%s, want %s/%s", p.ID(), p.Name(), tt.cfg.ID, tt.wantName)
			}
		})
	}
}

func TestRegistry(t *testing.T) {
	cfg := oauth.Config{ClientID: "id", RedirectURL: "http://127.0.0.1/cb"}
	gh := cfg
	gh.ID = "github"
	gl := cfg
	gl.ID = "google"
	a, _ := oauth.New(gh)
	b, _ := oauth.New(gl)

	r, err := oauth.NewRegistry(b, a)
	if err != nil {
		t.Fatal(err)
	}
	ps := r.Providers()
	if len(ps) != 2 || ps[0].ID() != "google" || ps[1].ID() != "github" {
		t.Errorf("providers out of order: %v", ps)
	}
	if p, ok := r.Get("github"); !ok || p != a {
		t.Error("Get(github) did not return the github provider")
	}
	if _, ok := r.Get("gitlab"); ok {
		t.Error("Get found a provider that was never configured")
	}
	if _, err := oauth.NewRegistry(a, a); err == nil {
		t.Error("a duplicate id was accepted")
	}
	var none *oauth.Registry
	if _, ok := none.Get("github"); ok || len(none.Providers()) != 0 {
		t.Error("a nil registry is not empty")
	}
}
