package main

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	netmail "net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/latchkey/latchkey"
	"github.com/latchkey/latchkey/mail"
	"github.com/latchkey/latchkey/password"
)

var errHelp = errors.New("help shown")

// setting is one configuration value: an environment variable and the
// flag of the same name (LATCHKEY_DATABASE_URL is --database-url).
type setting struct {
	env  string
	def  string
	help string
}

var settings = []setting{
	{"LATCHKEY_ADDR", "127.0.0.1:8080", "address to listen on"},
	{"LATCHKEY_DATABASE_URL", "sqlite://./latchkey-data/latchkey.db", "sqlite:///abs/path.db, sqlite://./rel.db or postgres://…"},
	{"LATCHKEY_PUBLIC_URL", "http://localhost:8080", "URL where clients reach this server"},
	{"LATCHKEY_DASHBOARD_URL", "", "URL of the dashboard (default: the public URL)"},
	{"LATCHKEY_CORS_ORIGINS", "", "comma-separated browser origins allowed with credentials"},
	{"LATCHKEY_SMTP_URL", "", "smtp://user:pass@host:port (STARTTLS when offered) or smtps://; unset: mail is logged"},
	{"LATCHKEY_EMAIL_FROM", "Latchkey <no-reply@localhost>", "sender of outgoing mail"},
	{"LATCHKEY_WEBAUTHN_RP_ID", "", "WebAuthn relying party id (default: the public URL's host)"},
	{"LATCHKEY_WEBAUTHN_ORIGINS", "", "comma-separated WebAuthn origins (default: public and dashboard origins)"},
	{"LATCHKEY_POSTHOG_API_KEY", "", "PostHog project API key; unset: no analytics"},
	{"LATCHKEY_POSTHOG_HOST", "https://us.i.posthog.com", "PostHog endpoint"},
	{"LATCHKEY_ACCESS_TOKEN_TTL", "15m", "access token lifetime"},
	{"LATCHKEY_REFRESH_TOKEN_TTL", "720h", "refresh token and idle session lifetime"},
	{"LATCHKEY_CODE_TTL", "15m", "email verification code lifetime"},
	{"LATCHKEY_DASHBOARD_TOKEN_TTL", "60s", "dashboard token lifetime"},
	{"LATCHKEY_REFRESH_REUSE_GRACE", "10s", "window in which a just-rotated refresh token still works"},
	{"LATCHKEY_RATE_LIMITS", "on", "on, or off for benchmarks (never turns off code attempt limits)"},
	{"LATCHKEY_AUTH_CACHE", "on", "PostgreSQL: on keeps sessions and API keys in memory, kept exact across nodes by LISTEN/NOTIFY and leases; off reads them from the database on every request"},
	{"LATCHKEY_ARGON2_MEMORY", "19456", "argon2id memory in KiB"},
	{"LATCHKEY_ARGON2_TIME", "2", "argon2id iterations"},
	{"LATCHKEY_ARGON2_THREADS", "1", "argon2id parallelism"},
	{"LATCHKEY_LOG_LEVEL", "info", "debug, info, warn or error"},
	{"LATCHKEY_SSO_ALLOW_PRIVATE_NETWORKS", "off", "on lets SSO connections reach loopback, private and link-local addresses (development only: any org admin could make the server fetch internal URLs)"},
	{"LATCHKEY_SECRET_KEY", "", "32 bytes, base64 or hex: seals stored secrets (signing keys, SAML key, SSO client secrets, TOTP seeds, webhook secrets); unset: latchkey-data/secret.key next to an SQLite database, required with PostgreSQL"},
	{"LATCHKEY_KEY_ROTATION_OVERLAP", "10m", "latchkey keys rotate: how long a new signing key is published before it signs"},
	{"LATCHKEY_TOKEN_AUDIENCE", "", "aud claim of access tokens (default: the public URL)"},
	{"LATCHKEY_DNS_RESOLVER", "", "host:port of the DNS server that answers SSO domain TXT lookups (default: the system resolver)"},
}

// config is the parsed configuration: raw strings by variable name, then
// typed accessors that name the variable on a bad value.
type config struct {
	raw map[string]string
	err error // first bad value
}

// parseConfig reads the environment, then the flags, which override it.
func parseConfig(name string, args []string, getenv func(string) string, stderr io.Writer) (*config, error) {
	c := &config{raw: map[string]string{}}
	fs := flag.NewFlagSet("latchkey "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	vals := map[string]*string{}
	for _, s := range settings {
		v := getenv(s.env)
		if v == "" {
			v = s.def
		}
		vals[s.env] = fs.String(flagName(s.env), v, s.help+" ($"+s.env+")")
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, errHelp
		}
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	for k, v := range vals {
		c.raw[k] = strings.TrimSpace(*v)
	}
	return c, nil
}

func flagName(env string) string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(env, "LATCHKEY_")), "_", "-")
}

func (c *config) fail(env, format string, args ...any) {
	if c.err == nil {
		c.err = fmt.Errorf("%s: %s", env, fmt.Sprintf(format, args...))
	}
}

func (c *config) str(env string) string { return c.raw[env] }

func (c *config) duration(env string) time.Duration {
	d, err := time.ParseDuration(c.raw[env])
	if err != nil || d <= 0 {
		c.fail(env, "%q is not a positive duration such as 15m or 10s", c.raw[env])
	}
	return d
}

func (c *config) uint(env string, max uint64) uint64 {
	n, err := strconv.ParseUint(c.raw[env], 10, 64)
	if err != nil || n == 0 || n > max {
		c.fail(env, "%q is not a whole number from 1 to %d", c.raw[env], max)
	}
	return n
}

// url checks an absolute http(s) URL and returns it without a trailing slash.
func (c *config) url(env string) string {
	v := c.raw[env]
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		c.fail(env, "%q is not an absolute http(s) URL", v)
	}
	return strings.TrimRight(v, "/")
}

func (c *config) list(env string) []string {
	var out []string
	for _, v := range strings.Split(c.raw[env], ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// origins checks a comma-separated list of browser origins
// (scheme://host[:port]); an entry the server could never match, such as
// one without a scheme, would otherwise be dropped without a word.
func (c *config) origins(env string) []string {
	list := c.list(env)
	for _, o := range list {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.TrimSuffix(u.Path, "/") != "" || u.RawQuery != "" || u.User != nil {
			c.fail(env, "%q is not an origin such as https://app.example.com", o)
		}
	}
	return list
}

func (c *config) onOff(env string) bool {
	switch strings.ToLower(c.raw[env]) {
	case "on", "true", "1", "yes":
		return true
	case "off", "false", "0", "no":
		return false
	}
	c.fail(env, "%q must be on or off", c.raw[env])
	return true
}

// secretKey decodes an optional 32-byte key given in base64 or hex.
func (c *config) secretKey(env string) []byte {
	v := strings.TrimSpace(c.raw[env])
	if v == "" {
		return nil
	}
	for _, dec := range []func(string) ([]byte, error){hex.DecodeString, base64.StdEncoding.DecodeString, base64.RawStdEncoding.DecodeString, base64.URLEncoding.DecodeString, base64.RawURLEncoding.DecodeString} {
		if b, err := dec(v); err == nil && len(b) == 32 {
			return b
		}
	}
	c.fail(env, "must be 32 bytes in base64 or hex (e.g. openssl rand -base64 32)")
	return nil
}

// addr checks a host:port listen address.
func (c *config) addr(env string) string {
	if _, _, err := net.SplitHostPort(c.raw[env]); err != nil {
		c.fail(env, "%q is not a host:port address", c.raw[env])
	}
	return c.raw[env]
}

// databaseURL checks the scheme of the database URL.
func (c *config) databaseURL(env string) string {
	v := c.raw[env]
	if !strings.HasPrefix(v, "sqlite://") && !strings.HasPrefix(v, "postgres://") && !strings.HasPrefix(v, "postgresql://") {
		c.fail(env, "%q must start with sqlite:// or postgres://", v)
	}
	return v
}

// domainConfig copies what the domain needs.
func (c *config) domainConfig() latchkey.Config {
	cfg := latchkey.DefaultConfig()
	cfg.PublicURL = c.url("LATCHKEY_PUBLIC_URL")
	cfg.Issuer = cfg.PublicURL
	cfg.TokenAudience = cfg.PublicURL
	if c.str("LATCHKEY_TOKEN_AUDIENCE") != "" {
		cfg.TokenAudience = c.str("LATCHKEY_TOKEN_AUDIENCE")
	}
	cfg.DashboardURL = cfg.PublicURL
	if c.str("LATCHKEY_DASHBOARD_URL") != "" {
		cfg.DashboardURL = c.url("LATCHKEY_DASHBOARD_URL")
	}
	cfg.AccessTokenTTL = c.duration("LATCHKEY_ACCESS_TOKEN_TTL")
	cfg.RefreshTokenTTL = c.duration("LATCHKEY_REFRESH_TOKEN_TTL")
	cfg.CodeTTL = c.duration("LATCHKEY_CODE_TTL")
	cfg.DashboardTokenTTL = c.duration("LATCHKEY_DASHBOARD_TOKEN_TTL")
	cfg.RefreshReuseGrace = c.duration("LATCHKEY_REFRESH_REUSE_GRACE")
	cfg.RateLimits = c.onOff("LATCHKEY_RATE_LIMITS")
	cfg.Password = password.Hasher{Params: password.Params{
		Memory:  uint32(c.uint("LATCHKEY_ARGON2_MEMORY", 4<<20)),
		Time:    uint32(c.uint("LATCHKEY_ARGON2_TIME", 100)),
		Threads: uint8(c.uint("LATCHKEY_ARGON2_THREADS", 255)),
	}}
	// argon2id needs 8 KiB per lane; below that every hash would fail at
	// sign-up time instead of here.
	if p := cfg.Password.Params; p.Threads > 0 && p.Memory > 0 && p.Memory < 8*uint32(p.Threads) {
		c.fail("LATCHKEY_ARGON2_MEMORY", "%d KiB is less than 8 KiB per thread (%d threads)", p.Memory, p.Threads)
	}
	cfg.SecretKey = c.secretKey("LATCHKEY_SECRET_KEY")
	if c.str("LATCHKEY_DNS_RESOLVER") != "" {
		cfg.DNSResolver = c.addr("LATCHKEY_DNS_RESOLVER")
	}
	return cfg
}

// mailSender builds the mail sender: SMTP from LATCHKEY_SMTP_URL, or, when
// it is unset, the log (development: codes and links appear in the log).
func (c *config) mailSender(logger *slog.Logger) mail.Sender {
	from := c.str("LATCHKEY_EMAIL_FROM")
	if _, err := netmail.ParseAddress(from); err != nil {
		c.fail("LATCHKEY_EMAIL_FROM", "%q is not an email address such as Latchkey <no-reply@example.com>", from)
		return nil
	}
	raw := c.str("LATCHKEY_SMTP_URL")
	if raw == "" {
		return mail.Log{Logger: logger}
	}
	s, err := mail.NewSMTP(raw, from, mail.SMTPOptions{})
	if err != nil {
		// The error never quotes the URL, which may hold a password.
		c.fail("LATCHKEY_SMTP_URL", "%v", err)
		return nil
	}
	return s
}
