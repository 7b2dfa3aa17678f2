package latchkey

import (
	"context"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// DefaultCLIScopes are the scopes of a CLI key when the CLI names none.
var DefaultCLIScopes = []string{ScopeAPIRead, ScopeAPIWrite}

// CLIAuthorizeInput is the request of auth.cli.authorize.
type CLIAuthorizeInput struct {
	CallbackURL          string
	State                string
	Scopes               []string // nil: DefaultCLIScopes
	KeyName              string   // "": "CLI"
	CreatePublishableKey bool
}

// CLIAuthorization is what a signed-in user hands to a waiting CLI.
type CLIAuthorization struct {
	RedirectURL    string
	Key            NewAPIKey
	PublishableKey *PublishableKey
}

// AuthorizeCLI creates a secret key for the session's org and the URL of
// the CLI's loopback listener that carries it there.
func (s *Service) AuthorizeCLI(ctx context.Context, ac *AuthContext, in CLIAuthorizeInput) (CLIAuthorization, error) {
	if err := requireSession(ac); err != nil {
		return CLIAuthorization{}, err
	}
	// Each authorization mints a secret key: bound them per user.
	if err := s.rateLimit(ctx, "cli-authorize:"+ac.User.ID, ruleCLIAuthorize); err != nil {
		return CLIAuthorization{}, err
	}
	cb, err := CheckCallbackURL(in.CallbackURL)
	if err != nil {
		return CLIAuthorization{}, err
	}
	if in.State == "" || len(in.State) > 512 {
		return CLIAuthorization{}, Invalid("state", "state is required (at most 512 characters).")
	}
	scopes := in.Scopes
	if scopes == nil {
		scopes = DefaultCLIScopes
	}
	if scopes, err = checkScopes("scopes", scopes); err != nil {
		return CLIAuthorization{}, err
	}
	if slices.Contains(scopes, ScopeOrgAdmin) && !ac.Role.CanAdminister() {
		return CLIAuthorization{}, Errorf(CodeInsufficientScope, "Only owners and admins may give a CLI the org:admin scope.")
	}
	name := in.KeyName
	if strings.TrimSpace(name) == "" {
		name = "CLI"
	}
	if name, err = checkKeyName("key_name", name); err != nil {
		return CLIAuthorization{}, err
	}
	var out CLIAuthorization
	newPK := false
	err = s.Store.Tx(ctx, func(tx Store) error {
		if out.Key, err = s.createAPIKey(ctx, tx, ac, ac.User.ID, name, scopes); err != nil {
			return err
		}
		if in.CreatePublishableKey {
			pk, created, err := s.orgPublishableKey(ctx, tx, ac)
			newPK = created
			if err != nil {
				return err
			}
			out.PublishableKey = &pk
		}
		return nil
	})
	if err != nil {
		return CLIAuthorization{}, err
	}
	q := cb.Query()
	q.Set("key", out.Key.Secret.Reveal())
	q.Set("state", in.State)
	q.Set("org_id", ac.Org.ID)
	if out.PublishableKey != nil {
		// Not secret; carried along so the CLI need not ask for it.
		q.Set("publishable_key", out.PublishableKey.Key)
	}
	cb.RawQuery = q.Encode()
	out.RedirectURL = cb.String()
	s.auditKeyCreated(ctx, ac, out.Key.Key)
	if newPK {
		s.auditPublishableKeyCreated(ctx, ac, *out.PublishableKey)
	}
	s.audit(ctx, AuditEvent{ActorID: ac.User.ID, OrgID: ac.Org.ID, Action: "cli.authorized", Target: out.Key.Key.ID, IP: ac.Meta.IP, UserAgent: ac.Meta.UserAgent})
	return out, nil
}

// orgPublishableKey returns the org's oldest publishable key, creating one
// when the org has none (created reports that).
func (s *Service) orgPublishableKey(ctx context.Context, tx Store, ac *AuthContext) (k PublishableKey, created bool, err error) {
	keys, err := tx.PublishableKeysOfOrg(ctx, ac.Org.ID)
	if err != nil {
		return PublishableKey{}, false, err
	}
	if len(keys) > 0 {
		return keys[0], false, nil
	}
	k, err = s.createPublishableKey(ctx, tx, ac, ac.User.ID)
	return k, err == nil, err
}

// CheckCallbackURL accepts only a CLI's loopback listener:
// http://127.0.0.1:<port>/<path> or http://localhost:<port>/<path>, with
// an optional query. It reads the raw text itself rather than trusting a
// URL parser's leniency, so userinfo, percent-encoded or unusual hosts,
// backslashes, fragments, a missing port and https all fail with
// invalid_callback.
func CheckCallbackURL(raw string) (*url.URL, error) {
	bad := Errorf(CodeInvalidCallback, "callback_url must be http://127.0.0.1:<port>/... or http://localhost:<port>/...")
	bad.Field = "callback_url"
	if len(raw) > 2048 {
		return nil, bad
	}
	for i := 0; i < len(raw); i++ {
		if c := raw[i]; c <= ' ' || c >= 0x7f || c == '\\' || c == '#' {
			return nil, bad
		}
	}
	rest, ok := strings.CutPrefix(raw, "http://")
	if !ok {
		return nil, bad
	}
	end := strings.IndexAny(rest, "/?")
	if end < 0 || rest[end] != '/' {
		return nil, bad // no path: the authority must be followed by "/"
	}
	authority := rest[:end]
	host, port, ok := strings.Cut(authority, ":")
	if !ok || (host != "127.0.0.1" && host != "localhost") || !validPort(port) {
		return nil, bad
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" || u.Host != authority || u.User != nil || u.Opaque != "" || u.Fragment != "" {
		return nil, bad
	}
	return u, nil
}

// validPort accepts 1-65535 written plainly: digits, no leading zero.
func validPort(p string) bool {
	if p == "" || len(p) > 5 || p[0] == '0' {
		return false
	}
	for i := 0; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return false
		}
	}
	n, _ := strconv.Atoi(p)
	return n >= 1 && n <= 65535
}
