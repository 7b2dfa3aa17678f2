package latchkey

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"time"
)

// challengeDashboardToken is the challenge kind of a dashboard token.
const challengeDashboardToken = "dashboard_token"

// DashboardExchangePath is where a dashboard token is redeemed, on the
// public URL.
const DashboardExchangePath = "/v1/auth.dashboard_token.exchange"

// DashboardToken is a single-use token that opens a browser session.
type DashboardToken struct {
	Token     string
	URL       string
	ExpiresAt time.Time
}

type dashboardPayload struct {
	OrgID      string `json:"org_id"`
	APIKeyID   string `json:"api_key_id"`
	RedirectTo string `json:"redirect_to,omitempty"`
}

// CreateDashboardToken lets an API key open the dashboard in a browser.
// The exchange signs the browser in as the org's first member, so a key
// may create a token only when it could act for that person: it holds
// org:admin, or that person created it. Otherwise a member's key would
// become an owner's session.
func (s *Service) CreateDashboardToken(ctx context.Context, ac *AuthContext, redirectTo string) (DashboardToken, error) {
	if ac == nil {
		return DashboardToken{}, errNoSession
	}
	if ac.Credential != CredentialAPIKey {
		return DashboardToken{}, Errorf(CodeWrongCredentialKind, "This operation needs a secret API key, not a user session.")
	}
	if len(redirectTo) > 2048 {
		return DashboardToken{}, Invalid("redirect_to", "redirect_to must be at most 2048 characters.")
	}
	if !ac.HasScope(ScopeOrgAdmin) {
		creator, err := s.creatorOf(ctx, ac)
		if err != nil {
			return DashboardToken{}, err
		}
		first, err := s.Store.FirstMember(ctx, ac.Org.ID)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return DashboardToken{}, err
		}
		if creator == "" || first.UserID != creator {
			return DashboardToken{}, Errorf(CodeInsufficientScope,
				"A dashboard token signs in as the organization's first member: it needs the org:admin scope or a key created by that member.")
		}
	}
	if first, err := s.Store.FirstMember(ctx, ac.Org.ID); err == nil {
		if err := checkEnabled(ctx, s.Store, first.UserID); err != nil {
			return DashboardToken{}, err // the exchange would sign in a disabled account
		}
	}
	payload, _ := json.Marshal(dashboardPayload{OrgID: ac.Org.ID, APIKeyID: ac.APIKeyID, RedirectTo: redirectTo})
	ttl := s.Config.DashboardTokenTTL
	token, err := s.issueToken(ctx, s.Store, Challenge{Kind: challengeDashboardToken, Payload: payload}, ttl)
	if err != nil {
		return DashboardToken{}, err
	}
	s.audit(ctx, AuditEvent{ActorID: ac.APIKeyID, OrgID: ac.Org.ID, Action: "dashboard_token.created", IP: ac.Meta.IP, UserAgent: ac.Meta.UserAgent})
	return DashboardToken{
		Token:     token,
		URL:       strings.TrimRight(s.Config.PublicURL, "/") + DashboardExchangePath + "?token=" + url.QueryEscape(token),
		ExpiresAt: s.now().Add(ttl),
	}, nil
}

// errDashboardToken is every failure of an exchange: the browser goes to
// the sign-in page whatever the reason.
var errDashboardToken = Errorf(CodeInvalidToken, "The dashboard link is invalid, expired or used.")

// ExchangeDashboardToken redeems a dashboard token once: it signs the
// org's first member in, in that org, and returns the sign-in and where
// the browser goes next.
func (s *Service) ExchangeDashboardToken(ctx context.Context, token string, m Meta) (SignIn, string, error) {
	if err := s.rateLimit(ctx, "code-ip:"+m.IP, ruleCodeIP); err != nil {
		return SignIn{}, "", err
	}
	var c Challenge
	err := s.Store.Tx(ctx, func(tx Store) error {
		var err error
		c, err = s.redeemToken(ctx, tx, challengeDashboardToken, token, errDashboardToken)
		if errors.Is(err, ErrNotFound) {
			return errDashboardToken // consumed by a concurrent request
		}
		return err
	})
	if err != nil {
		return SignIn{}, "", err
	}
	var p dashboardPayload
	if err := json.Unmarshal(c.Payload, &p); err != nil || p.OrgID == "" {
		return SignIn{}, "", errDashboardToken
	}
	first, err := s.Store.FirstMember(ctx, p.OrgID)
	if errors.Is(err, ErrNotFound) {
		return SignIn{}, "", errDashboardToken
	} else if err != nil {
		return SignIn{}, "", err
	}
	u, err := s.Store.UserByID(ctx, first.UserID)
	if errors.Is(err, ErrNotFound) {
		return SignIn{}, "", errDashboardToken
	} else if err != nil {
		return SignIn{}, "", err
	}
	in, err := s.signIn(ctx, u, p.OrgID, m, viaDashboard)
	if err != nil {
		return SignIn{}, "", err
	}
	s.audit(ctx, AuditEvent{ActorID: u.ID, OrgID: p.OrgID, Action: "dashboard_token.exchanged", Target: in.Session.ID,
		IP: m.IP, UserAgent: m.UserAgent, Data: auditData(map[string]any{"api_key_id": p.APIKeyID})})
	return in, s.dashboardDestination(p.RedirectTo), nil
}

// DashboardLoginURL is where a failed exchange sends the browser.
func (s *Service) DashboardLoginURL() string {
	return strings.TrimRight(s.Config.DashboardURL, "/") + "/login"
}

// dashboardDestination returns redirectTo when it is on the dashboard's
// origin (an absolute URL there, or a plain path), else the dashboard.
func (s *Service) dashboardDestination(redirectTo string) string {
	home := strings.TrimRight(s.Config.DashboardURL, "/") + "/"
	if redirectTo == "" || strings.ContainsAny(redirectTo, "\\ ") || strings.ContainsFunc(redirectTo, isControl) {
		return home // a control character would even break the Location header
	}
	dash, err := url.Parse(s.Config.DashboardURL)
	if err != nil {
		return home
	}
	if strings.HasPrefix(redirectTo, "/") && !strings.HasPrefix(redirectTo, "//") {
		return dash.Scheme + "://" + dash.Host + redirectTo
	}
	u, err := url.Parse(redirectTo)
	if err != nil || u.User != nil || u.Opaque != "" ||
		!strings.EqualFold(u.Scheme, dash.Scheme) || !strings.EqualFold(u.Host, dash.Host) {
		return home
	}
	return u.String()
}

// isControl reports an ASCII control character (tabs and newlines included).
func isControl(r rune) bool { return r < ' ' || r == 0x7f }
