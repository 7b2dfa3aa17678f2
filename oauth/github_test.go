package oauth_test

import (
	"context"
	"errors"
	"net/url"
	"testing"

	"github.com/latchkey/latchkey/oauth"
	"github.com/latchkey/latchkey/oauth/oauthtest"
	"golang.org/x/oauth2"
)

func newGitHub(t *testing.T, gh *oauthtest.GitHub) oauth.Provider {
	t.Helper()
	p, err := oauth.New(oauth.Config{
		ID: "github", ClientID: gh.ClientID, ClientSecret: gh.ClientSecret,
		RedirectURL: "http://127.0.0.1:8080/oauth/github/callback",
		AuthURL:     gh.AuthURL(), TokenURL: gh.TokenURL(), UserInfoURL: gh.UserInfoURL(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestGitHubCodeFlow(t *testing.T) {
	gh := oauthtest.NewGitHub(t)
	p := newGitHub(t, gh)
	if p.Name() != "GitHub" {
		t.Errorf("name = %q, want GitHub", p.Name())
	}
	a := oauth.NewAttempt()
	authURL, err := p.AuthCodeURL(context.Background(), a)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(authURL)
	if got := u.Query().Get("code_challenge"); got != oauth2.S256ChallengeFromVerifier(a.Verifier) {
		t.Errorf("code_challenge = %q, want the S256 hash of the verifier", got)
	}

	tests := []struct {
		name string
		user oauthtest.GitHubUser
		want oauth.Identity
	}{
		{"primary verified", oauthtest.GitHubUser{ID: 7, Login: "ada", Name: "Ada", Emails: []oauthtest.GitHubEmail{
			{Email: "old@example.com", Verified: true},
			{Email: "ada@example.com", Primary: true, Verified: true},
		}}, oauth.Identity{Provider: "github", Subject: "7", Email: "ada@example.com", EmailVerified: true, Name: "Ada"}},
		{"primary unverified", oauthtest.GitHubUser{ID: 8, Login: "bob", Emails: []oauthtest.GitHubEmail{
			{Email: "bob@example.com", Primary: true},
			{Email: "other@example.com", Verified: true},
		}}, oauth.Identity{Provider: "github", Subject: "8", Email: "bob@example.com", Name: "bob"}},
		{"no emails, public email", oauthtest.GitHubUser{ID: 9, Login: "cy", Email: "cy@example.com"},
			oauth.Identity{Provider: "github", Subject: "9", Email: "cy@example.com", Name: "cy"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gh.SetUser(tt.user)
			id, err := signIn(t, p)
			if err != nil {
				t.Fatal(err)
			}
			if id != tt.want {
				t.Errorf("identity = %+v, want %+v", id, tt.want)
			}
		})
	}
}

func TestGitHubRejectsReplayedCode(t *testing.T) {
	gh := oauthtest.NewGitHub(t)
	p := newGitHub(t, gh)
	ctx := context.Background()
	a := oauth.NewAttempt()
	authURL, _ := p.AuthCodeURL(ctx, a)
	code := oauthtest.Approve(t, authURL).Query().Get("code")
	if _, err := p.Exchange(ctx, code, a); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Exchange(ctx, code, a); !errors.Is(err, oauth.ErrExchange) {
		t.Fatalf("replayed code: err = %v, want ErrExchange", err)
	}
}
