package server

import (
	"net/http"
	"net/url"
	"time"

	"github.com/latchkey/latchkey"
)

// linkCookie holds the opaque handle of a pending link request (contract:
// linking_user_id; it never holds a user id).
const linkCookie = "linking_user_id"

type oauthCodeRequest struct {
	Code string `json:"code"`
}

type oauthLinkRequest struct {
	Provider   string `json:"provider"`
	RedirectTo string `json:"redirect_to,omitempty"`
}

type oauthLinkResponse struct {
	AuthorizeURL string `json:"authorize_url"`
}

type oauthTokenRequest struct {
	Token string `json:"token"`
}

type oauthProviderRequest struct {
	Provider string `json:"provider"`
}

type oauthIdentityJSON struct {
	Provider  string    `json:"provider"`
	Email     string    `json:"email"`
	LinkedAt  time.Time `json:"linked_at"`
	CanUnlink bool      `json:"can_unlink"`
}

type oauthListResponse struct {
	Identities []oauthIdentityJSON `json:"identities"`
}

func (s *Server) oauthOps() []operation {
	return []operation{
		rpc("auth.oauth.exchange", authNone, "Trade the one-time code of an OAuth sign-in for a session (cookies only).",
			func(c *call, req oauthCodeRequest) (cookieSessionJSON, error) {
				in, err := s.svc.ExchangeOAuthCode(c.ctx, req.Code, c.meta)
				if err != nil {
					return cookieSessionJSON{}, err
				}
				return c.startCookieSession(in), nil
			}),
		rpc("auth.oauth.link.start", authSession, "Start connecting a provider to the signed-in account; the browser then opens authorize_url.",
			func(c *call, req oauthLinkRequest) (oauthLinkResponse, error) {
				if _, ok := s.cfg.OAuth.Get(req.Provider); !ok {
					return oauthLinkResponse{}, latchkey.Invalid("provider", "No provider %q is enabled here.", truncateName(req.Provider))
				}
				handle, err := s.svc.StartOAuthLink(c.ctx, c.auth, req.Provider, req.RedirectTo)
				if err != nil {
					return oauthLinkResponse{}, err
				}
				http.SetCookie(c.w, &http.Cookie{
					Name: linkCookie, Value: handle.Reveal(), Path: "/oauth/",
					MaxAge: int(latchkey.OAuthAttemptTTL / time.Second), HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode,
				})
				return oauthLinkResponse{AuthorizeURL: s.cfg.PublicURL + "/oauth/" + url.PathEscape(req.Provider) + "/start"}, nil
			}),
		rpc("auth.oauth.transfer.confirm", authSession, "Move the identity offered by a transfer token into the signed-in account.",
			func(c *call, req oauthTokenRequest) (empty, error) {
				return empty{}, tokenError400(s.svc.ConfirmOAuthTransfer(c.ctx, c.auth, req.Token))
			}),
		rpc("auth.oauth.list", authSession, "The provider identities connected to the signed-in account.",
			func(c *call, _ empty) (oauthListResponse, error) {
				ids, err := s.svc.OAuthIdentities(c.ctx, c.auth)
				if err != nil {
					return oauthListResponse{}, err
				}
				out := oauthListResponse{Identities: make([]oauthIdentityJSON, 0, len(ids))}
				for _, id := range ids {
					out.Identities = append(out.Identities, oauthIdentityJSON{Provider: id.Provider, Email: id.Email, LinkedAt: id.CreatedAt, CanUnlink: id.CanUnlink})
				}
				return out, nil
			}).read(),
		rpc("auth.oauth.unlink", authSession, "Disconnect a provider, unless it is the account's only way to sign in.",
			func(c *call, req oauthProviderRequest) (empty, error) {
				return empty{}, s.svc.UnlinkOAuth(c.ctx, c.auth, req.Provider)
			}),
	}
}
