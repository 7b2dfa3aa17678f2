package server

import (
	"mime"
	"net/http"
	"time"

	"github.com/latchkey/latchkey"
)

// meJSON is the AuthContext as auth.me shows it.
type meJSON struct {
	User       *userJSON `json:"user"`
	Org        orgJSON   `json:"org"`
	Role       *string   `json:"role"`
	Scopes     []string  `json:"scopes"`
	Credential string    `json:"credential"`
	SessionID  *string   `json:"session_id"`
	APIKeyID   *string   `json:"api_key_id"`
	// AAL, AMR and MFA describe a session's assurance (contract §7); null
	// for API keys.
	AAL *string       `json:"aal"`
	AMR []string      `json:"amr"`
	MFA *mfaStateJSON `json:"mfa"`
}

type mfaStateJSON struct {
	Enrolled bool `json:"enrolled"`
	Required bool `json:"required"`
}

type orgJSON struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Slug string `json:"slug"`
}

func toMeJSON(ac *latchkey.AuthContext) meJSON {
	out := meJSON{Org: orgJSON{ac.Org.ID, ac.Org.Name, ac.Org.Slug}, Scopes: ac.Scopes, Credential: ac.Credential}
	if ac.User != nil {
		u := toUserJSON(*ac.User)
		out.User = &u
	}
	if ac.Role != "" {
		r := string(ac.Role)
		out.Role = &r
	}
	if ac.SessionID != "" {
		out.SessionID = &ac.SessionID
	}
	if ac.APIKeyID != "" {
		out.APIKeyID = &ac.APIKeyID
	}
	if out.Scopes == nil {
		out.Scopes = []string{}
	}
	out.AMR = []string{}
	if ac.Credential == latchkey.CredentialSession {
		out.AAL = &ac.AAL
		if ac.AMR != nil {
			out.AMR = ac.AMR
		}
		out.MFA = &mfaStateJSON{Enrolled: ac.MFAEnrolled, Required: ac.OrgRequiresMFA}
	}
	return out
}

type refreshJSON struct {
	ExpiresIn int `json:"expires_in"`
}

type sessionIDRequest struct {
	SessionID string `json:"session_id"`
}

type orgSwitchRequest struct {
	OrgID string `json:"org_id"`
}

type sessionInfoJSON struct {
	ID         string    `json:"id"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	IP         string    `json:"ip"`
	UserAgent  string    `json:"user_agent"`
	Current    bool      `json:"current"`
}

type sessionsJSON struct {
	Sessions []sessionInfoJSON `json:"sessions"`
}

func (s *Server) sessionOps() []operation {
	refresh := rpc("auth.refresh", authNone, "Rotate the refresh cookie and re-set both session cookies. The body is never read.",
		func(c *call, _ ignored) (refreshJSON, error) {
			ck, err := c.r.Cookie(refreshCookie)
			if err != nil || ck.Value == "" {
				s.clearSessionCookies(c.w)
				return refreshJSON{}, latchkey.Errorf(latchkey.CodeInvalidToken, "No refresh cookie was sent.")
			}
			if err := s.checkRefreshCSRF(c.r); err != nil {
				return refreshJSON{}, err
			}
			in, err := s.svc.Refresh(c.ctx, ck.Value)
			if err != nil {
				if latchkey.ErrorCode(err) == latchkey.CodeInvalidToken {
					s.clearSessionCookies(c.w)
				}
				return refreshJSON{}, err
			}
			s.setSessionCookies(c.w, in)
			return refreshJSON{ExpiresIn: int(in.ExpiresIn / time.Second)}, nil
		})
	return []operation{
		rpc("auth.me", authAny, "Who is calling: the user or API key, its org, role and scopes.",
			func(c *call, _ empty) (meJSON, error) { return toMeJSON(c.auth), nil }).read(),
		refresh,
		rpc("auth.logout", authNone, "Revoke the session and its refresh lineage; clear the cookies.",
			func(c *call, _ empty) (empty, error) { return empty{}, s.logout(c) }),
		rpc("auth.sessions.list", authSession, "The caller's live sessions.",
			func(c *call, _ empty) (sessionsJSON, error) {
				list, err := s.svc.ListSessions(c.ctx, c.auth)
				out := sessionsJSON{Sessions: []sessionInfoJSON{}}
				for _, x := range list {
					out.Sessions = append(out.Sessions, sessionInfoJSON{x.ID, x.CreatedAt, x.LastSeenAt, x.IP, x.UserAgent, x.Current})
				}
				return out, err
			}).read(),
		rpc("auth.sessions.revoke", authSession, "Revoke one of the caller's sessions.",
			func(c *call, req sessionIDRequest) (empty, error) {
				if err := s.svc.RevokeSession(c.ctx, c.auth, req.SessionID); err != nil {
					return empty{}, err
				}
				if req.SessionID == c.auth.SessionID {
					s.clearSessionCookies(c.w)
				}
				return empty{}, nil
			}),
		rpc("auth.org.switch", authSession, "Re-issue the session's tokens for another org of the user.",
			func(c *call, req orgSwitchRequest) (sessionJSON, error) {
				in, err := s.svc.SwitchOrg(c.ctx, c.auth, req.OrgID)
				if err != nil {
					return sessionJSON{}, err
				}
				return c.startSession(in), nil
			}),
	}
}

// ignored is the request of an operation that never reads its body.
type ignored struct{}

// logout revokes the caller's session. A cookie whose session is already
// revoked or expired still gets its cookies cleared with 200, so signing
// out twice is harmless; a bad bearer token is 401 as anywhere.
func (s *Server) logout(c *call) error {
	bearer := c.r.Header.Get("Authorization") != ""
	ck, cookieErr := c.r.Cookie(accessCookie)
	if !bearer && (cookieErr != nil || ck.Value == "") {
		return latchkey.Errorf(latchkey.CodeUnauthenticated, "Sign in first: this operation needs a credential.")
	}
	err := s.authenticate(c, operation{Name: "auth.logout", Auth: authSession})
	if err != nil {
		if !bearer && latchkey.ErrorCode(err) == latchkey.CodeInvalidToken {
			// An expired cookie still names its session: revoke it too.
			if err := s.svc.LogoutExpired(c.ctx, ck.Value, c.meta); err != nil {
				return err
			}
			s.clearSessionCookies(c.w)
			return nil
		}
		return err
	}
	if err := s.svc.Logout(c.ctx, c.auth); err != nil {
		return err
	}
	s.clearSessionCookies(c.w)
	return nil
}

// checkRefreshCSRF applies the CSRF rule to auth.refresh, whose cookie is
// SameSite=Strict: a foreign Origin, or a body that is declared and not
// JSON, is refused. A bodiless request without Content-Type is accepted
// because no cross-site request can carry a Strict cookie.
func (s *Server) checkRefreshCSRF(r *http.Request) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			return latchkey.Errorf(latchkey.CodeCSRFRejected, "A cookie-authenticated request must send Content-Type: application/json.")
		}
	}
	if origin := r.Header.Get("Origin"); origin != "" && !s.originAllowed(origin) {
		return latchkey.Errorf(latchkey.CodeCSRFRejected, "Requests from this origin are not allowed.")
	}
	return nil
}
