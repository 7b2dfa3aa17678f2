package client

import (
	"context"
	"time"
)

// User is the contract's user object.
type User struct {
	ID            string    `json:"id"`
	Email         string    `json:"email"`
	EmailVerified bool      `json:"email_verified"`
	Name          string    `json:"name"`
	HasPassword   bool      `json:"has_password"`
	CreatedAt     time.Time `json:"created_at"`
}

// Org is an organization as auth.me shows it.
type Org struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Slug string `json:"slug"`
}

// Me is the AuthContext that auth.me answers.
type Me struct {
	User       *User    `json:"user"`
	Org        Org      `json:"org"`
	Role       *string  `json:"role"`
	Scopes     []string `json:"scopes"`
	Credential string   `json:"credential"`
	SessionID  *string  `json:"session_id"`
	APIKeyID   *string  `json:"api_key_id"`
}

// Session is the body of the operations that set a session.
type Session struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	User         User   `json:"user"`
}

// Register creates an account (auth.register).
func (c *Client) Register(ctx context.Context, email, password string) (*Session, error) {
	var out Session
	err := c.Call(ctx, "auth.register", map[string]string{"email": email, "password": password}, &out)
	return &out, err
}

// Login signs in with a password (auth.login).
func (c *Client) Login(ctx context.Context, email, password string) (*Session, error) {
	var out Session
	err := c.Call(ctx, "auth.login", map[string]string{"email": email, "password": password}, &out)
	return &out, err
}

// Me returns who the client's credential is (auth.me).
func (c *Client) Me(ctx context.Context) (*Me, error) {
	var out Me
	err := c.Call(ctx, "auth.me", nil, &out)
	return &out, err
}

// APIKey is a secret key as lists show it.
type APIKey struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Scopes     []string   `json:"scopes"`
	Prefix     string     `json:"prefix"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
}

// NewAPIKey is a key just created, with its secret (shown only once).
type NewAPIKey struct {
	APIKey APIKey `json:"api_key"`
	Secret string `json:"secret"`
}

// CreateAPIKey creates a secret key for the caller's org.
func (c *Client) CreateAPIKey(ctx context.Context, name string, scopes []string) (*NewAPIKey, error) {
	var out NewAPIKey
	err := c.Call(ctx, "org.api_keys.create", map[string]any{"name": name, "scopes": scopes}, &out)
	return &out, err
}

// ListAPIKeys lists the caller's org's secret keys.
func (c *Client) ListAPIKeys(ctx context.Context) ([]APIKey, error) {
	var out struct {
		APIKeys []APIKey `json:"api_keys"`
	}
	err := c.Call(ctx, "org.api_keys.list", nil, &out)
	return out.APIKeys, err
}

// RevokeAPIKey revokes a secret key of the caller's org.
func (c *Client) RevokeAPIKey(ctx context.Context, id string) error {
	return c.Call(ctx, "org.api_keys.revoke", map[string]string{"id": id}, nil)
}

// PublishableKey is an org's publishable key.
type PublishableKey struct {
	ID        string    `json:"id"`
	Key       string    `json:"key"`
	CreatedAt time.Time `json:"created_at"`
}

// CreatePublishableKey creates a publishable key for the caller's org.
func (c *Client) CreatePublishableKey(ctx context.Context) (*PublishableKey, error) {
	var out struct {
		PublishableKey PublishableKey `json:"publishable_key"`
	}
	err := c.Call(ctx, "org.publishable_keys.create", nil, &out)
	return &out.PublishableKey, err
}

// ListPublishableKeys lists the caller's org's publishable keys.
func (c *Client) ListPublishableKeys(ctx context.Context) ([]PublishableKey, error) {
	var out struct {
		PublishableKeys []PublishableKey `json:"publishable_keys"`
	}
	err := c.Call(ctx, "org.publishable_keys.list", nil, &out)
	return out.PublishableKeys, err
}

// RevokePublishableKey revokes a publishable key of the caller's org.
func (c *Client) RevokePublishableKey(ctx context.Context, id string) error {
	return c.Call(ctx, "org.publishable_keys.revoke", map[string]string{"id": id}, nil)
}

// CLIAuthorizeRequest is the request of auth.cli.authorize.
type CLIAuthorizeRequest struct {
	CallbackURL          string   `json:"callback_url"`
	State                string   `json:"state"`
	Scopes               []string `json:"scopes,omitempty"`
	KeyName              string   `json:"key_name,omitempty"`
	CreatePublishableKey bool     `json:"create_publishable_key,omitempty"`
}

// CLIAuthorization is the answer of auth.cli.authorize.
type CLIAuthorization struct {
	RedirectURL    string  `json:"redirect_url"`
	APIKeyID       string  `json:"api_key_id"`
	PublishableKey *string `json:"publishable_key"`
}

// AuthorizeCLI gives a waiting CLI a key (needs a user session).
func (c *Client) AuthorizeCLI(ctx context.Context, req CLIAuthorizeRequest) (*CLIAuthorization, error) {
	var out CLIAuthorization
	err := c.Call(ctx, "auth.cli.authorize", req, &out)
	return &out, err
}

// DashboardToken is a single-use link into the dashboard.
type DashboardToken struct {
	Token     string    `json:"token"`
	URL       string    `json:"url"`
	ExpiresAt time.Time `json:"expires_at"`
}

// CreateDashboardToken creates a dashboard link (needs a secret key);
// redirectTo may be "".
func (c *Client) CreateDashboardToken(ctx context.Context, redirectTo string) (*DashboardToken, error) {
	var out DashboardToken
	req := map[string]string{}
	if redirectTo != "" {
		req["redirect_to"] = redirectTo
	}
	err := c.Call(ctx, "auth.dashboard_token.create", req, &out)
	return &out, err
}
