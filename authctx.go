package latchkey

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"
)

// Credential kinds of an AuthContext.
const (
	CredentialSession = "session"
	CredentialAPIKey  = "api_key"
)

// AuthContext is who is calling and with what: the answer of auth.me and
// the input of every authenticated flow.
type AuthContext struct {
	User            *User // nil for an API key
	Org             Org
	Role            Role // the user's role, or for a key its creator's current role (member once they left)
	Scopes          []string
	Credential      string
	SessionID       string
	APIKeyID        string
	AdminKeyID      string    // set for an admin key (CredentialAdminKey)
	AuthenticatedAt time.Time // when the session's user last presented a credential
	// AAL is the session's assurance level ("aal1" or "aal2", contract §7)
	// and AMR its authentication methods (RFC 8176); empty for API keys.
	AAL string
	AMR []string
	// MFAAt is the session's last second-factor check; MFAEnrolled whether
	// the user has MFA on; OrgRequiresMFA the org's policy; SSO whether an
	// identity provider signed the session in (mfa.go).
	MFAAt          time.Time
	MFAEnrolled    bool
	OrgRequiresMFA bool
	SSO            bool
	Meta           Meta
}

// HasScope reports whether the credential carries scope.
func (ac *AuthContext) HasScope(scope string) bool { return slices.Contains(ac.Scopes, scope) }

// AuthenticateAccessToken checks a session's access token: its signature
// and expiry offline, then the session row, so a revoked session fails on
// the very next request on every node.
func (s *Service) AuthenticateAccessToken(ctx context.Context, token string) (*AuthContext, error) {
	c, err := s.keys.verify(ctx, token)
	if errors.Is(err, errMalformedJWT) {
		return nil, errBadToken
	} else if err != nil {
		return nil, err
	}
	now := s.now()
	if c.Expires <= now.Unix() || c.Issuer != s.Config.Issuer || c.SessionID == "" {
		return nil, errBadToken
	}
	sa, err := s.Store.SessionAuth(ctx, c.SessionID)
	if errors.Is(err, ErrNotFound) {
		return nil, errBadToken
	} else if err != nil {
		return nil, err
	}
	if !sa.Session.Live(now) || sa.User.ID != c.Subject || sa.Org.ID != c.Org {
		return nil, errBadToken
	}
	return &AuthContext{
		User: &sa.User, Org: sa.Org, Role: sa.Role, Scopes: sa.Role.Scopes(),
		Credential: CredentialSession, SessionID: sa.Session.ID,
		AuthenticatedAt: sa.Session.AuthenticatedAt,
		AAL:             sa.Session.AAL, AMR: sa.Session.AMR, MFAAt: sa.Session.MFAAt, SSO: sa.Session.SSO,
		MFAEnrolled: sa.MFAEnrolled, OrgRequiresMFA: sa.OrgRequiresMFA,
	}, nil
}

// Authenticate checks a bearer credential of either kind: a secret API key
// (sk_…) or a session's access token.
func (s *Service) Authenticate(ctx context.Context, bearer string) (*AuthContext, error) {
	if strings.HasPrefix(bearer, APIKeyPrefix) {
		return s.AuthenticateAPIKey(ctx, bearer)
	}
	if strings.HasPrefix(bearer, AdminKeyPrefix) {
		return nil, s.refuseAdminKey(ctx, bearer) // admin keys work only on admin.*
	}
	return s.AuthenticateAccessToken(ctx, bearer)
}

// requireSession fails unless ac is a user's session.
func requireSession(ac *AuthContext) error {
	switch {
	case ac == nil:
		return errNoSession
	case ac.Credential != CredentialSession || ac.User == nil:
		return Errorf(CodeWrongCredentialKind, "This operation needs a user session, not an API key.")
	}
	return nil
}

// RequireAdmin fails unless ac may administer its org: a session of an
// owner or admin, or an API key with the org:admin scope.
func RequireAdmin(ac *AuthContext) error {
	switch {
	case ac == nil:
		return errNoSession
	case ac.Credential == CredentialAPIKey:
		if !ac.HasScope(ScopeOrgAdmin) {
			return Errorf(CodeInsufficientScope, "This API key lacks the org:admin scope.")
		}
	case !ac.Role.CanAdminister():
		return Errorf(CodeForbidden, "Only owners and admins of the organization may do this.")
	}
	return nil
}
