package oauth

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"golang.org/x/oauth2"
)

// GitHub signs in with GitHub's OAuth 2 apps. GitHub issues no ID token, so
// the identity comes from its API: /user for the account and /user/emails
// for the primary address and whether GitHub verified it.
type GitHub struct {
	cfg    Config
	client *http.Client
	oauth  oauth2.Config
}

// NewGitHub returns the GitHub provider for cfg. Empty endpoints default to
// github.com's; the emails endpoint is always UserInfoURL + "/emails".
// Scopes default to read:user and user:email.
func NewGitHub(cfg Config) *GitHub {
	if cfg.Name == "" {
		cfg.Name = "GitHub"
	}
	if cfg.AuthURL == "" {
		cfg.AuthURL = GitHubAuthURL
	}
	if cfg.TokenURL == "" {
		cfg.TokenURL = GitHubTokenURL
	}
	if cfg.UserInfoURL == "" {
		cfg.UserInfoURL = GitHubUserInfoURL
	}
	if len(cfg.Scopes) == 0 {
		cfg.Scopes = []string{"read:user", "user:email"}
	}
	return &GitHub{
		cfg:    cfg,
		client: httpClient(cfg),
		oauth: oauth2.Config{
			ClientID:     cfg.ClientID,
			ClientSecret: cfg.ClientSecret,
			Endpoint: oauth2.Endpoint{
				AuthURL:   cfg.AuthURL,
				TokenURL:  cfg.TokenURL,
				AuthStyle: oauth2.AuthStyleInParams, // as GitHub documents it
			},
			RedirectURL: cfg.RedirectURL,
			Scopes:      cfg.Scopes,
		},
	}
}

// ID returns the provider's identifier.
func (g *GitHub) ID() string { return g.cfg.ID }

// Name returns the provider's display name.
func (g *GitHub) Name() string { return g.cfg.Name }

// AuthCodeURL returns the authorization URL for a, with state and PKCE S256.
func (g *GitHub) AuthCodeURL(_ context.Context, a Attempt) (string, error) {
	return g.oauth.AuthCodeURL(a.State, oauth2.S256ChallengeOption(a.Verifier)), nil
}

// Exchange redeems code and reads the account and its emails. The email is
// the primary one, marked verified only when GitHub verified it.
func (g *GitHub) Exchange(ctx context.Context, code string, a Attempt) (Identity, error) {
	ctx = context.WithValue(ctx, oauth2.HTTPClient, g.client)
	tok, err := g.oauth.Exchange(ctx, code, oauth2.VerifierOption(a.Verifier))
	if err != nil {
		return Identity{}, fmt.Errorf("%w: %s: %v", ErrExchange, g.cfg.ID, err)
	}
	var user struct {
		ID    int64  `json:"id"`
		Login string `json:"login"`
		Name  string `json:"name"`
		Email string `json:"email"`
	}
	if err := g.get(ctx, tok, g.cfg.UserInfoURL, &user); err != nil {
		return Identity{}, err
	}
	if user.ID <= 0 {
		return Identity{}, fmt.Errorf("%w: %s: /user has no id", ErrInvalidToken, g.cfg.ID)
	}
	var emails []struct {
		Email    string `json:"email"`
		Primary  bool   `json:"primary"`
		Verified bool   `json:"verified"`
	}
	emailsURL := strings.TrimSuffix(g.cfg.UserInfoURL, "/") + "/emails"
	if err := g.get(ctx, tok, emailsURL, &emails); err != nil {
		return Identity{}, err
	}
	id := Identity{
		Provider: g.cfg.ID,
		Subject:  strconv.FormatInt(user.ID, 10),
		Email:    user.Email,
		Name:     user.Name,
	}
	if id.Name == "" {
		id.Name = user.Login
	}
	for _, e := range emails {
		if e.Primary {
			id.Email, id.EmailVerified = e.Email, e.Verified
		}
	}
	return id, nil
}

// get calls one GitHub API endpoint with the access token and decodes its
// JSON answer into v.
func (g *GitHub) get(ctx context.Context, tok *oauth2.Token, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrUnavailable, g.cfg.ID, err)
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err := g.client.Do(req)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrUnavailable, g.cfg.ID, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrUnavailable, g.cfg.ID, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%w: %s: GET %s: %s", ErrInvalidToken, g.cfg.ID, url, resp.Status)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("%w: %s: GET %s: %v", ErrInvalidToken, g.cfg.ID, url, err)
	}
	return nil
}
