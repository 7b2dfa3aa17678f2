// Package verify lets a resource server (one of the platform's own
// services) accept Latchkey access tokens: it verifies them offline
// against the server's JWKS (issuer, audience, expiry, typ at+jwt,
// EdDSA only), optionally asks auth.me so a revoked session fails at
// once, and offers net/http middleware that puts the claims in the
// request context and checks scopes.
package verify

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Config says which tokens to accept. Issuer is required.
type Config struct {
	// Issuer is the Latchkey server's issuer, its public URL
	// (LATCHKEY_PUBLIC_URL), e.g. https://auth.example.com.
	Issuer string
	// Audience the token's aud must name; default Issuer (the server's
	// default LATCHKEY_TOKEN_AUDIENCE).
	Audience string
	// JWKSURL is where the public keys are; default
	// Issuer + "/.well-known/jwks.json".
	JWKSURL string
	// APIURL is the server's base URL for the online check; default Issuer.
	APIURL string
	// Online asks auth.me on every verification, so a token whose session
	// was revoked fails at once instead of when it expires. It costs one
	// round trip per request; it also accepts secret API keys (sk_live_).
	Online bool
	// HTTPClient fetches the JWKS and calls auth.me; default a client with
	// a 10 s timeout.
	HTTPClient *http.Client
	// Leeway is the clock skew allowed on exp and iat; default 30 s.
	Leeway time.Duration
	// RefetchEvery bounds how often a token with an unknown kid makes the
	// verifier fetch the JWKS again (forged kids must not turn into a
	// flood of requests to the server); default 10 s.
	RefetchEvery time.Duration
	// CacheFor is how long a fetched key set is trusted before it is
	// fetched again (so retired keys drop out); default 5 min.
	CacheFor time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Claims are a verified access token's claims (contract §2, §7, §10).
type Claims struct {
	Issuer    string
	Subject   string // the user id; "" for an API key (online mode)
	Audience  []string
	Org       string // the active org id
	SessionID string // "" for an API key
	Scopes    []string
	ClientID  string
	TokenID   string // jti
	AAL       string // "aal1" or "aal2" once the server fills it
	AMR       []string
	IssuedAt  time.Time
	Expiry    time.Time
	// Credential is "session" for an access token, "api_key" for a
	// secret key accepted in online mode.
	Credential string
	// APIKeyID is the key's id for Credential "api_key".
	APIKeyID string
}

// HasScope reports whether the token carries scope.
func (c *Claims) HasScope(scope string) bool { return slices.Contains(c.Scopes, scope) }

// Errors of Verify; a failure wraps one of them.
var (
	ErrNoToken      = errors.New("verify: no bearer token")
	ErrInvalidToken = errors.New("verify: invalid token")
)

// Verifier verifies access tokens. Create it with New; it is safe for
// concurrent use.
type Verifier struct {
	cfg  Config
	keys *keySet
}

// New checks cfg and fills its defaults. No request is made until the
// first token is verified.
func New(cfg Config) (*Verifier, error) {
	if cfg.Issuer == "" {
		return nil, errors.New("verify: Config.Issuer is required")
	}
	base := strings.TrimRight(cfg.Issuer, "/")
	if cfg.Audience == "" {
		cfg.Audience = cfg.Issuer
	}
	if cfg.JWKSURL == "" {
		cfg.JWKSURL = base + "/.well-known/jwks.json"
	}
	if cfg.APIURL == "" {
		cfg.APIURL = base
	}
	cfg.APIURL = strings.TrimRight(cfg.APIURL, "/")
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Leeway == 0 {
		cfg.Leeway = 30 * time.Second
	}
	if cfg.RefetchEvery == 0 {
		cfg.RefetchEvery = 10 * time.Second
	}
	if cfg.CacheFor == 0 {
		cfg.CacheFor = 5 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Verifier{cfg: cfg, keys: &keySet{cfg: &cfg}}, nil
}

// Verify checks a token and returns its claims: offline, then (Online)
// with auth.me.
func (v *Verifier) Verify(ctx context.Context, token string) (*Claims, error) {
	if token == "" {
		return nil, ErrNoToken
	}
	if strings.HasPrefix(token, "sk_") {
		if !v.cfg.Online {
			return nil, fmt.Errorf("%w: an API key can only be checked online", ErrInvalidToken)
		}
		return v.online(ctx, token, nil)
	}
	c, err := v.offline(ctx, token)
	if err != nil {
		return nil, err
	}
	if v.cfg.Online {
		return v.online(ctx, token, c)
	}
	return c, nil
}

// extraClaims are the contract's claims beyond the registered ones;
// scope is one space-separated string (RFC 9068).
type extraClaims struct {
	Org      string   `json:"org"`
	SID      string   `json:"sid"`
	Scope    string   `json:"scope"`
	ClientID string   `json:"client_id"`
	AAL      string   `json:"aal"`
	AMR      []string `json:"amr"`
}

func (v *Verifier) offline(ctx context.Context, token string) (*Claims, error) {
	tok, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.EdDSA})
	if err != nil || len(tok.Headers) != 1 {
		return nil, fmt.Errorf("%w: not a signed JWT", ErrInvalidToken)
	}
	h := tok.Headers[0]
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); !strings.EqualFold(typ, "at+jwt") {
		return nil, fmt.Errorf("%w: typ %q is not at+jwt", ErrInvalidToken, typ)
	}
	key, err := v.keys.key(ctx, h.KeyID)
	if err != nil {
		return nil, err
	}
	var std jwt.Claims
	var extra extraClaims
	if err := tok.Claims(key, &std, &extra); err != nil {
		return nil, fmt.Errorf("%w: signature", ErrInvalidToken)
	}
	if std.Expiry == nil || std.Issuer == "" {
		return nil, fmt.Errorf("%w: exp and iss are required", ErrInvalidToken)
	}
	exp := jwt.Expected{Issuer: v.cfg.Issuer, AnyAudience: jwt.Audience{v.cfg.Audience}, Time: v.cfg.Now()}
	if err := std.ValidateWithLeeway(exp, v.cfg.Leeway); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	c := &Claims{Issuer: std.Issuer, Subject: std.Subject, Audience: std.Audience, Org: extra.Org, SessionID: extra.SID,
		Scopes: strings.Fields(extra.Scope), ClientID: extra.ClientID, TokenID: std.ID, AAL: extra.AAL, AMR: extra.AMR,
		Expiry: std.Expiry.Time()}
	if std.IssuedAt != nil {
		c.IssuedAt = std.IssuedAt.Time()
	}
	c.Credential = "session"
	return c, nil
}
