// Package oauth signs people in through outside identity providers: GitHub
// (OAuth 2 plus its user and verified-emails API), Google and any OpenID
// Connect provider found by discovery.
//
// Each provider builds an authorization URL for one sign-in attempt (state,
// PKCE S256 and, for OpenID Connect, a nonce) and turns the code the browser
// brings back into a verified Identity. It stores nothing: the caller keeps
// the Attempt between the two steps, bound to the browser, and decides what
// the identity means for its accounts.
package oauth

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"time"

	"golang.org/x/oauth2"
)

// Config describes one provider. Fields left empty take the provider's
// defaults (see New).
type Config struct {
	ID           string // lower-case identifier used in URLs, e.g. "github"
	Name         string // display name, e.g. "GitHub"
	ClientID     string
	ClientSecret string
	Issuer       string // OpenID Connect issuer; discovery starts here
	AuthURL      string // overrides the authorization endpoint
	TokenURL     string // overrides the token endpoint
	UserInfoURL  string // overrides the userinfo (GitHub: /user) endpoint
	Scopes       []string
	RedirectURL  string // this server's callback URL for the provider

	// HTTPClient makes every request to the provider; nil means a client
	// with a 10-second timeout.
	HTTPClient *http.Client
	// Now is the clock used to check ID token expiry; nil means time.Now.
	Now func() time.Time
}

// Identity is what a provider asserts about the person who signed in.
type Identity struct {
	Provider      string // the provider's ID
	Subject       string // the provider's stable user id
	Email         string
	EmailVerified bool // true only when the provider says it verified Email
	Name          string
}

// Attempt holds the secrets of one sign-in attempt. The caller creates it
// with NewAttempt, keeps it until the callback (never in a place the
// provider can see, apart from State), and passes it back to Exchange.
type Attempt struct {
	State    string // echoed by the provider; compare with the callback's
	Verifier string // PKCE code verifier; only its S256 hash leaves the server
	Nonce    string // bound into the OpenID Connect ID token
}

// NewAttempt returns fresh random secrets for one sign-in attempt.
func NewAttempt() Attempt {
	return Attempt{
		State:    rand.Text(),
		Verifier: oauth2.GenerateVerifier(),
		Nonce:    rand.Text(),
	}
}

// Provider is one configured identity provider. There are two kinds, plain
// OAuth 2 with a user API (GitHub) and OpenID Connect, hence an interface.
type Provider interface {
	// ID is the provider's lower-case identifier.
	ID() string
	// Name is the provider's display name.
	Name() string
	// AuthCodeURL returns the URL to send the browser to for this attempt.
	AuthCodeURL(ctx context.Context, a Attempt) (string, error)
	// Exchange redeems the code from the callback and returns the verified
	// identity. The code must come from the same attempt.
	Exchange(ctx context.Context, code string, a Attempt) (Identity, error)
}

// Errors returned by providers, wrapped with detail; test with errors.Is.
var (
	// ErrUnavailable means the provider could not be reached or its
	// discovery document was unusable.
	ErrUnavailable = errors.New("oauth: provider unavailable")
	// ErrExchange means the provider refused the code.
	ErrExchange = errors.New("oauth: code exchange failed")
	// ErrInvalidToken means an ID token or a provider answer failed
	// verification (signature, issuer, audience, expiry, nonce).
	ErrInvalidToken = errors.New("oauth: invalid token")
)

// Well-known endpoints of the built-in providers.
const (
	GoogleIssuer      = "https://accounts.google.com"
	GitHubAuthURL     = "https://github.com/login/oauth/authorize"
	GitHubTokenURL    = "https://github.com/login/oauth/access_token"
	GitHubUserInfoURL = "https://api.github.com/user"
)

var validID = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// New returns the provider cfg describes: "github" is GitHub, "google" is
// Google's OpenID Connect (issuer and scopes defaulted), and any other ID
// is a generic OpenID Connect provider, which needs an Issuer.
func New(cfg Config) (Provider, error) {
	if !validID.MatchString(cfg.ID) {
		return nil, fmt.Errorf("oauth: invalid provider id %q", cfg.ID)
	}
	if cfg.ClientID == "" {
		return nil, fmt.Errorf("oauth: provider %s: client id is required", cfg.ID)
	}
	if cfg.RedirectURL == "" {
		return nil, fmt.Errorf("oauth: provider %s: redirect URL is required", cfg.ID)
	}
	switch cfg.ID {
	case "github":
		return NewGitHub(cfg), nil
	case "google":
		if cfg.Name == "" {
			cfg.Name = "Google"
		}
		if cfg.Issuer == "" {
			cfg.Issuer = GoogleIssuer
		}
	}
	if cfg.Issuer == "" {
		return nil, fmt.Errorf("oauth: provider %s: issuer is required", cfg.ID)
	}
	return NewOIDC(cfg), nil
}

func httpClient(cfg Config) *http.Client {
	if cfg.HTTPClient != nil {
		return cfg.HTTPClient
	}
	return &http.Client{Timeout: 10 * time.Second}
}
