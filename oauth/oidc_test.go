package oauth_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/oauth"
	"github.com/latchkey/latchkey/oauth/oauthtest"
	"golang.org/x/oauth2"
)

const redirectURL = "http://127.0.0.1:8080/oauth/acme/callback"

func newOIDC(t *testing.T, idp *oauthtest.OIDC) *oauth.OIDC {
	t.Helper()
	return oauth.NewOIDC(oauth.Config{
		ID: "acme", Name: "Acme", Issuer: idp.URL,
		ClientID: idp.ClientID, ClientSecret: idp.ClientSecret, RedirectURL: redirectURL,
	})
}

// signIn runs one attempt through the provider and returns the exchange's
// result, failing the test if the redirect back is not for this attempt.
func signIn(t *testing.T, p oauth.Provider) (oauth.Identity, error) {
	t.Helper()
	ctx := context.Background()
	a := oauth.NewAttempt()
	authURL, err := p.AuthCodeURL(ctx, a)
	if err != nil {
		t.Fatalf("AuthCodeURL: %v", err)
	}
	cb := oauthtest.Approve(t, authURL)
	if got := cb.Query().Get("state"); got != a.State {
		t.Fatalf("state = %q, want %q", got, a.State)
	}
	return p.Exchange(ctx, cb.Query().Get("code"), a)
}

func TestOIDCCodeFlow(t *testing.T) {
	idp := oauthtest.NewOIDC(t)
	idp.SetUser(oauthtest.User{Subject: "sub-42", Email: "ada@example.com", EmailVerified: true, Name: "Ada"})
	p := newOIDC(t, idp)

	a := oauth.NewAttempt()
	authURL, err := p.AuthCodeURL(context.Background(), a)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(authURL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	want := map[string]string{
		"client_id":             idp.ClientID,
		"redirect_uri":          redirectURL,
		"response_type":         "code",
		"state":                 a.State,
		"nonce":                 a.Nonce,
		"code_challenge_method": "S256",
		"code_challenge":        oauth2.S256ChallengeFromVerifier(a.Verifier),
	}
	for k, v := range want {
		if q.Get(k) != v {
			t.Errorf("authorize URL %s = %q, want %q", k, q.Get(k), v)
		}
	}
	if !strings.HasPrefix(authURL, idp.AuthURL()+"?") {
		t.Errorf("authorize URL %s does not start with the discovered endpoint", authURL)
	}
	if q.Has("code_verifier") {
		t.Error("the PKCE verifier leaked into the authorize URL")
	}

	id, err := signIn(t, p)
	if err != nil {
		t.Fatal(err)
	}
	wantID := oauth.Identity{Provider: "acme", Subject: "sub-42", Email: "ada@example.com", EmailVerified: true, Name: "Ada"}
	if id != wantID {
		t.Errorf("identity = %+v, want %+v", id, wantID)
	}
}

func TestOIDCRejectsBadIDTokens(t *testing.T) {
	idp := oauthtest.NewOIDC(t)
	p := newOIDC(t, idp)
	tests := []struct {
		name string
		edit func(c map[string]any)
	}{
		{"wrong nonce", func(c map[string]any) { c["nonce"] = "someone-elses" }},
		{"missing nonce", func(c map[string]any) { delete(c, "nonce") }},
		{"wrong audience", func(c map[string]any) { c["aud"] = "another-client" }},
		{"expired", func(c map[string]any) { c["exp"] = time.Now().Add(-time.Minute).Unix() }},
		{"wrong issuer", func(c map[string]any) { c["iss"] = "https://evil.example" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			idp.EditIDToken(tt.edit)
			t.Cleanup(func() { idp.EditIDToken(nil) })
			_, err := signIn(t, p)
			if !errors.Is(err, oauth.ErrInvalidToken) {
				t.Fatalf("err = %v, want ErrInvalidToken", err)
			}
		})
	}
}

func TestOIDCRejectsBadCodes(t *testing.T) {
	idp := oauthtest.NewOIDC(t)
	p := newOIDC(t, idp)
	ctx := context.Background()

	a := oauth.NewAttempt()
	authURL, err := p.AuthCodeURL(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	code := oauthtest.Approve(t, authURL).Query().Get("code")

	wrong := a
	wrong.Verifier = oauth2.GenerateVerifier()
	if _, err := p.Exchange(ctx, code, wrong); !errors.Is(err, oauth.ErrExchange) {
		t.Fatalf("wrong PKCE verifier: err = %v, want ErrExchange", err)
	}
	// The failed attempt burned the code: the right verifier is too late.
	if _, err := p.Exchange(ctx, code, a); !errors.Is(err, oauth.ErrExchange) {
		t.Fatalf("burned code: err = %v, want ErrExchange", err)
	}

	a = oauth.NewAttempt()
	authURL, _ = p.AuthCodeURL(ctx, a)
	code = oauthtest.Approve(t, authURL).Query().Get("code")
	if _, err := p.Exchange(ctx, code, a); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Exchange(ctx, code, a); !errors.Is(err, oauth.ErrExchange) {
		t.Fatalf("replayed code: err = %v, want ErrExchange", err)
	}
}

func TestOIDCEmailVerifiedSources(t *testing.T) {
	idp := oauthtest.NewOIDC(t)
	p := newOIDC(t, idp)
	tests := []struct {
		name         string
		user         oauthtest.User
		edit         func(c map[string]any)
		wantEmail    string
		wantVerified bool
	}{
		{"claim false", oauthtest.User{Subject: "s", Email: "a@example.com"}, nil, "a@example.com", false},
		{"claim as string", oauthtest.User{Subject: "s", Email: "a@example.com"},
			func(c map[string]any) { c["email_verified"] = "true" }, "a@example.com", true},
		{"claim absent, userinfo verified", oauthtest.User{Subject: "s", Email: "a@example.com", EmailVerified: true},
			func(c map[string]any) { delete(c, "email_verified") }, "a@example.com", true},
		{"claim absent, userinfo unverified", oauthtest.User{Subject: "s", Email: "a@example.com"},
			func(c map[string]any) { delete(c, "email_verified") }, "a@example.com", false},
		{"email only in userinfo", oauthtest.User{Subject: "s", Email: "b@example.com", EmailVerified: true},
			func(c map[string]any) { delete(c, "email"); delete(c, "email_verified") }, "b@example.com", true},
		{"userinfo speaks of another address", oauthtest.User{Subject: "s", Email: "b@example.com", EmailVerified: true},
			func(c map[string]any) { c["email"] = "c@example.com"; delete(c, "email_verified") }, "c@example.com", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			idp.SetUser(tt.user)
			idp.EditIDToken(tt.edit)
			t.Cleanup(func() { idp.EditIDToken(nil) })
			id, err := signIn(t, p)
			if err != nil {
				t.Fatal(err)
			}
			if id.Email != tt.wantEmail || id.EmailVerified != tt.wantVerified {
				t.Errorf("email = %q verified = %v, want %q %v", id.Email, id.EmailVerified, tt.wantEmail, tt.wantVerified)
			}
		})
	}
}

func TestOIDCDiscoveryIsLazyAndRetried(t *testing.T) {
	idp := oauthtest.NewOIDC(t)
	idp.SetDown(true)
	p, err := oauth.New(oauth.Config{
		ID: "acme", Issuer: idp.URL, ClientID: idp.ClientID, ClientSecret: idp.ClientSecret, RedirectURL: redirectURL,
	})
	if err != nil {
		t.Fatalf("New with the provider down: %v", err)
	}
	if _, err := p.AuthCodeURL(context.Background(), oauth.NewAttempt()); !errors.Is(err, oauth.ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
	idp.SetDown(false)
	if _, err := signIn(t, p); err != nil {
		t.Fatalf("after the provider came back: %v", err)
	}
}

func TestOIDCEndpointOverrides(t *testing.T) {
	idp := oauthtest.NewOIDC(t)
	p := oauth.NewOIDC(oauth.Config{
		ID: "acme", Issuer: idp.URL, ClientID: idp.ClientID, ClientSecret: idp.ClientSecret, RedirectURL: redirectURL,
		AuthURL: "http://127.0.0.1:9/elsewhere/authorize",
	})
	authURL, err := p.AuthCodeURL(context.Background(), oauth.NewAttempt())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(authURL, "http://127.0.0.1:9/elsewhere/authorize?") {
		t.Errorf("authorize URL %s ignores the override", authURL)
	}
}

func TestGoogleIsOIDC(t *testing.T) {
	idp := oauthtest.NewOIDC(t)
	idp.SetUser(oauthtest.User{Subject: "g-1", Email: "g@example.com", EmailVerified: true, Name: "G"})
	p, err := oauth.New(oauth.Config{
		ID: "google", Issuer: idp.URL, // a stand-in for accounts.google.com
		ClientID: idp.ClientID, ClientSecret: idp.ClientSecret, RedirectURL: redirectURL,
	})
	if err != nil {
		t.Fatal(err)
	}
	id, err := signIn(t, p)
	if err != nil {
		t.Fatal(err)
	}
	if id.Provider != "google" || id.Subject != "g-1" || !id.EmailVerified || p.Name() != "Google" {
		t.Errorf("google identity = %+v (name %s)", id, p.Name())
	}
}
