package latchkey

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/latchkey/latchkey/passkey"
	"github.com/latchkey/latchkey/password"
)

// Config holds the values the domain needs; cmd/latchkey copies them from
// the environment and flags.
type Config struct {
	// Issuer is the iss claim of access tokens: the public URL.
	Issuer string
	// TokenAudience is the aud claim of access tokens; empty: Issuer.
	TokenAudience string
	PublicURL     string
	DashboardURL  string

	AccessTokenTTL    time.Duration
	RefreshTokenTTL   time.Duration
	RefreshReuseGrace time.Duration
	CodeTTL           time.Duration
	ResetTokenTTL     time.Duration
	InvitationTTL     time.Duration
	DashboardTokenTTL time.Duration

	// RateLimits turns the request-rate limits on. Attempt limits on
	// one-time codes are always on.
	RateLimits bool
	Password   password.Hasher
	// SecretKey (32 bytes) seals the secrets Latchkey must read back
	// (signing keys, the SAML SP key, SSO client secrets, TOTP seeds,
	// webhook secrets) with AES-256-GCM. The binary always sets one
	// (LATCHKEY_SECRET_KEY or latchkey-data/secret.key); empty, secrets
	// are stored unsealed ("plain:"), for tools and old tests only.
	SecretKey []byte
	// DNSResolver (host:port) answers the TXT lookups of SSO domain
	// proofs; empty: the system resolver.
	DNSResolver string
}

// DefaultConfig returns the contract's defaults.
func DefaultConfig() Config {
	return Config{
		Issuer:            "http://localhost:8080",
		PublicURL:         "http://localhost:8080",
		DashboardURL:      "http://localhost:8080",
		AccessTokenTTL:    15 * time.Minute,
		RefreshTokenTTL:   30 * 24 * time.Hour,
		RefreshReuseGrace: 10 * time.Second,
		CodeTTL:           15 * time.Minute,
		ResetTokenTTL:     30 * time.Minute,
		InvitationTTL:     7 * 24 * time.Hour,
		DashboardTokenTTL: 60 * time.Second,
		RateLimits:        true,
		Password:          password.Hasher{Params: password.DefaultParams},
	}
}

// Mailer sends an email rendered from one of the mail package's templates.
// Send must not reveal delivery problems to the caller's timing: the mail
// package queues and retries in the background.
type Mailer interface {
	Send(ctx context.Context, to, template string, data map[string]string) error
}

// Service runs every flow of the contract once, for every transport.
// Fill the exported fields, then call Open.
type Service struct {
	Store     Store
	Config    Config
	Mailer    Mailer    // nil: mails are only logged
	Analytics Analytics // nil: events are dropped
	Logger    *slog.Logger
	Clock     func() time.Time // nil: time.Now

	// Passkeys runs the WebAuthn ceremonies; nil turns passkeys off.
	Passkeys *passkey.RelyingParty

	keys   *keyring
	limits *limiter
	bg     background   // flows finished after the response (reset.go)
	swept  atomic.Int64 // Unix microseconds of the last sweep of dead challenges
}

// Open prepares the service: loads (or on a fresh database creates) the
// token signing keys.
func (s *Service) Open(ctx context.Context) error {
	if s.Logger == nil {
		s.Logger = slog.Default()
	}
	if s.Clock == nil {
		s.Clock = time.Now
	}
	if s.Analytics == nil {
		s.Analytics = noAnalytics{}
	}
	if s.Mailer == nil {
		s.Mailer = logMailer{s.Logger}
	}
	s.limits = newLimiter()
	if n := len(s.Config.SecretKey); n != 0 && n != 32 {
		return fmt.Errorf("the server secret must be 32 bytes, not %d", n)
	}
	if err := s.sealAtRest(ctx); err != nil {
		return err
	}
	kr, err := s.loadKeys(ctx, s.now())
	if err != nil {
		return err
	}
	s.keys = kr
	return nil
}

// now is the service's clock in UTC, at the microsecond precision the
// database keeps.
func (s *Service) now() time.Time { return s.Clock().UTC().Truncate(time.Microsecond) }

// Now exposes the service clock to adapters that must agree with it.
func (s *Service) Now() time.Time { return s.now() }

type logMailer struct{ log *slog.Logger }

func (m logMailer) Send(ctx context.Context, to, template string, data map[string]string) error {
	m.log.InfoContext(ctx, "email (no mailer configured)", "to", to, "template", template, "data", data)
	return nil
}
