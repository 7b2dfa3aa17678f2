package oauth

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// OIDC is an OpenID Connect provider. Its discovery document is fetched on
// first use, not at construction, so a server starts while an identity
// provider is down; a failed discovery is retried on the next use, and a
// successful one is kept.
type OIDC struct {
	cfg    Config
	client *http.Client

	mu         sync.Mutex // guards the fields below during discovery
	discovered bool
	provider   *oidc.Provider
	oauth      oauth2.Config
	verifier   *oidc.IDTokenVerifier
}

// NewOIDC returns an OpenID Connect provider for cfg. cfg.Issuer is
// required; cfg.AuthURL, TokenURL and UserInfoURL, when set, replace the
// discovered endpoints. Scopes default to openid, email and profile, and
// the name defaults to the ID. It is the constructor to use for one
// provider outside the registry, such as an organization's SSO connection.
func NewOIDC(cfg Config) *OIDC {
	if cfg.Name == "" {
		cfg.Name = cfg.ID
	}
	if len(cfg.Scopes) == 0 {
		cfg.Scopes = []string{oidc.ScopeOpenID, "email", "profile"}
	}
	return &OIDC{cfg: cfg, client: httpClient(cfg)}
}

// ID returns the provider's identifier.
func (p *OIDC) ID() string { return p.cfg.ID }

// Name returns the provider's display name.
func (p *OIDC) Name() string { return p.cfg.Name }

// AuthCodeURL returns the authorization URL for a, with state, PKCE S256
// and nonce.
func (p *OIDC) AuthCodeURL(ctx context.Context, a Attempt) (string, error) {
	if err := p.discover(ctx); err != nil {
		return "", err
	}
	return p.oauth.AuthCodeURL(a.State,
		oauth2.S256ChallengeOption(a.Verifier), oidc.Nonce(a.Nonce)), nil
}

// Exchange redeems code with the attempt's PKCE verifier, verifies the ID
// token (signature, issuer, audience, expiry, nonce) and returns its
// identity. The email and email_verified claims come from the ID token,
// falling back to the userinfo endpoint when the token lacks them.
func (p *OIDC) Exchange(ctx context.Context, code string, a Attempt) (Identity, error) {
	if err := p.discover(ctx); err != nil {
		return Identity{}, err
	}
	ctx = oidc.ClientContext(ctx, p.client)
	tok, err := p.oauth.Exchange(ctx, code, oauth2.VerifierOption(a.Verifier))
	if err != nil {
		return Identity{}, fmt.Errorf("%w: %s: %v", ErrExchange, p.cfg.ID, err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return Identity{}, fmt.Errorf("%w: %s: no id_token in token response", ErrInvalidToken, p.cfg.ID)
	}
	idt, err := p.verifier.Verify(ctx, raw)
	if err != nil {
		return Identity{}, fmt.Errorf("%w: %s: %v", ErrInvalidToken, p.cfg.ID, err)
	}
	if a.Nonce == "" || subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(a.Nonce)) != 1 {
		return Identity{}, fmt.Errorf("%w: %s: nonce mismatch", ErrInvalidToken, p.cfg.ID)
	}
	if idt.AccessTokenHash != "" {
		if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
			return Identity{}, fmt.Errorf("%w: %s: %v", ErrInvalidToken, p.cfg.ID, err)
		}
	}
	var c claims
	if err := idt.Claims(&c); err != nil {
		return Identity{}, fmt.Errorf("%w: %s: %v", ErrInvalidToken, p.cfg.ID, err)
	}
	id := Identity{Provider: p.cfg.ID, Subject: idt.Subject, Email: c.Email, Name: c.name()}
	if c.EmailVerified != nil {
		id.EmailVerified = bool(*c.EmailVerified)
	}
	if (c.Email == "" || c.EmailVerified == nil) && p.provider.UserInfoEndpoint() != "" {
		if err := p.fillFromUserInfo(ctx, tok, &id, c.EmailVerified != nil); err != nil {
			return Identity{}, err
		}
	}
	return id, nil
}

// fillFromUserInfo completes id from the userinfo endpoint. The answer is
// used only when its subject is the ID token's (OpenID Connect Core 5.3.2),
// and its email_verified only when it speaks of the same address.
func (p *OIDC) fillFromUserInfo(ctx context.Context, tok *oauth2.Token, id *Identity, haveVerified bool) error {
	info, err := p.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		return fmt.Errorf("%w: %s: userinfo: %v", ErrUnavailable, p.cfg.ID, err)
	}
	if info.Subject != id.Subject {
		return fmt.Errorf("%w: %s: userinfo subject differs from the ID token's", ErrInvalidToken, p.cfg.ID)
	}
	var c claims
	if err := info.Claims(&c); err != nil {
		return fmt.Errorf("%w: %s: userinfo: %v", ErrInvalidToken, p.cfg.ID, err)
	}
	if id.Email == "" {
		id.Email = c.Email
		haveVerified = false
	}
	if !haveVerified && c.Email == id.Email && c.EmailVerified != nil {
		id.EmailVerified = bool(*c.EmailVerified)
	}
	if id.Name == "" {
		id.Name = c.name()
	}
	return nil
}

// Discover fetches the provider's discovery document, unless an earlier
// call did, so a caller can check an issuer before using it.
func (p *OIDC) Discover(ctx context.Context) error { return p.discover(ctx) }

// discover fetches the discovery document once it succeeds; callers wait
// on the mutex rather than all asking a struggling provider at once.
func (p *OIDC) discover(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.discovered {
		return nil
	}
	ctx = oidc.ClientContext(ctx, p.client)
	found, err := oidc.NewProvider(ctx, p.cfg.Issuer)
	if err != nil {
		return fmt.Errorf("%w: %s: discovery: %v", ErrUnavailable, p.cfg.ID, err)
	}
	var pc oidc.ProviderConfig
	if err := found.Claims(&pc); err != nil {
		return fmt.Errorf("%w: %s: discovery: %v", ErrUnavailable, p.cfg.ID, err)
	}
	pc.IssuerURL = p.cfg.Issuer
	override(&pc.AuthURL, p.cfg.AuthURL)
	override(&pc.TokenURL, p.cfg.TokenURL)
	override(&pc.UserInfoURL, p.cfg.UserInfoURL)
	if pc.AuthURL == "" || pc.TokenURL == "" || pc.JWKSURL == "" {
		return fmt.Errorf("%w: %s: discovery document lacks an endpoint", ErrUnavailable, p.cfg.ID)
	}
	p.provider = pc.NewProvider(ctx)
	p.oauth = oauth2.Config{
		ClientID:     p.cfg.ClientID,
		ClientSecret: p.cfg.ClientSecret,
		Endpoint:     p.provider.Endpoint(),
		RedirectURL:  p.cfg.RedirectURL,
		Scopes:       p.cfg.Scopes,
	}
	p.verifier = p.provider.Verifier(&oidc.Config{ClientID: p.cfg.ClientID, Now: p.cfg.Now})
	p.discovered = true
	return nil
}

func override(dst *string, v string) {
	if v != "" {
		*dst = v
	}
}

// claims are the standard claims Latchkey reads from an ID token or a
// userinfo answer.
type claims struct {
	Email             string    `json:"email"`
	EmailVerified     *flexBool `json:"email_verified"`
	Name              string    `json:"name"`
	PreferredUsername string    `json:"preferred_username"`
}

func (c claims) name() string {
	if c.Name != "" {
		return c.Name
	}
	return c.PreferredUsername
}

// flexBool accepts true, false, "true" and "false": some providers send
// email_verified as a string.
type flexBool bool

func (b *flexBool) UnmarshalJSON(data []byte) error {
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	switch v := v.(type) {
	case bool:
		*b = flexBool(v)
	case string:
		*b = flexBool(v == "true")
	default:
		return fmt.Errorf("email_verified: unexpected %s", data)
	}
	return nil
}
