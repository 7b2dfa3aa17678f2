package server

import (
	"net/http"
	"time"

	"github.com/latchkey/latchkey"
)

// apiKeyJSON is a secret key as lists show it: never the secret.
type apiKeyJSON struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Scopes     []string   `json:"scopes"`
	Prefix     string     `json:"prefix"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
}

func toAPIKeyJSON(k latchkey.APIKey) apiKeyJSON {
	out := apiKeyJSON{ID: k.ID, Name: k.Name, Scopes: k.Scopes, Prefix: k.Prefix, CreatedAt: k.CreatedAt}
	if out.Scopes == nil {
		out.Scopes = []string{}
	}
	if !k.LastUsedAt.IsZero() {
		t := k.LastUsedAt
		out.LastUsedAt = &t
	}
	return out
}

type publishableKeyJSON struct {
	ID        string    `json:"id"`
	Key       string    `json:"key"`
	CreatedAt time.Time `json:"created_at"`
}

func toPublishableKeyJSON(k latchkey.PublishableKey) publishableKeyJSON {
	return publishableKeyJSON{ID: k.ID, Key: k.Key, CreatedAt: k.CreatedAt}
}

type apiKeyCreateRequest struct {
	Name   string   `json:"name"`
	Scopes []string `json:"scopes"`
}

type apiKeyCreateResponse struct {
	APIKey apiKeyJSON `json:"api_key"`
	Secret string     `json:"secret"`
}

type apiKeysJSON struct {
	APIKeys []apiKeyJSON `json:"api_keys"`
}

type publishableKeyResponse struct {
	PublishableKey publishableKeyJSON `json:"publishable_key"`
}

type publishableKeysJSON struct {
	PublishableKeys []publishableKeyJSON `json:"publishable_keys"`
}

type cliAuthorizeRequest struct {
	CallbackURL          string   `json:"callback_url"`
	State                string   `json:"state"`
	Scopes               []string `json:"scopes,omitempty"`
	KeyName              string   `json:"key_name,omitempty"`
	CreatePublishableKey bool     `json:"create_publishable_key,omitempty"`
}

type cliAuthorizeResponse struct {
	RedirectURL    string  `json:"redirect_url"`
	APIKeyID       string  `json:"api_key_id"`
	PublishableKey *string `json:"publishable_key"`
}

type dashboardTokenRequest struct {
	RedirectTo string `json:"redirect_to,omitempty"`
}

type dashboardTokenResponse struct {
	Token     string    `json:"token"`
	URL       string    `json:"url"`
	ExpiresAt time.Time `json:"expires_at"`
}

func (s *Server) apiKeyOps() []operation {
	return []operation{
		rpc("org.api_keys.create", authAny, "Create a secret API key for the org; the secret is shown only here.",
			func(c *call, req apiKeyCreateRequest) (apiKeyCreateResponse, error) {
				k, err := s.svc.CreateAPIKey(c.ctx, c.auth, req.Name, req.Scopes)
				if err != nil {
					return apiKeyCreateResponse{}, err
				}
				return apiKeyCreateResponse{APIKey: toAPIKeyJSON(k.Key), Secret: k.Secret.Reveal()}, nil
			}),
		rpc("org.api_keys.list", authAny, "The org's secret API keys, without secrets.",
			func(c *call, _ empty) (apiKeysJSON, error) {
				keys, err := s.svc.ListAPIKeys(c.ctx, c.auth)
				out := apiKeysJSON{APIKeys: []apiKeyJSON{}}
				for _, k := range keys {
					out.APIKeys = append(out.APIKeys, toAPIKeyJSON(k))
				}
				return out, err
			}).read(),
		rpc("org.api_keys.revoke", authAny, "Revoke a secret API key (a key may always revoke itself).",
			func(c *call, req idRequest) (empty, error) {
				return empty{}, s.svc.RevokeAPIKey(c.ctx, c.auth, req.ID)
			}),
		rpc("org.publishable_keys.create", authAny, "Create a publishable key for the org.",
			func(c *call, _ empty) (publishableKeyResponse, error) {
				k, err := s.svc.CreatePublishableKey(c.ctx, c.auth)
				return publishableKeyResponse{toPublishableKeyJSON(k)}, err
			}),
		rpc("org.publishable_keys.list", authAny, "The org's publishable keys.",
			func(c *call, _ empty) (publishableKeysJSON, error) {
				keys, err := s.svc.ListPublishableKeys(c.ctx, c.auth)
				out := publishableKeysJSON{PublishableKeys: []publishableKeyJSON{}}
				for _, k := range keys {
					out.PublishableKeys = append(out.PublishableKeys, toPublishableKeyJSON(k))
				}
				return out, err
			}).read(),
		rpc("org.publishable_keys.revoke", authAny, "Revoke a publishable key.",
			func(c *call, req idRequest) (empty, error) {
				return empty{}, s.svc.RevokePublishableKey(c.ctx, c.auth, req.ID)
			}),
		rpc("auth.cli.authorize", authSession, "Give a waiting CLI a secret key for the session's org, through its loopback callback.",
			func(c *call, req cliAuthorizeRequest) (cliAuthorizeResponse, error) {
				a, err := s.svc.AuthorizeCLI(c.ctx, c.auth, latchkey.CLIAuthorizeInput{
					CallbackURL: req.CallbackURL, State: req.State, Scopes: req.Scopes,
					KeyName: req.KeyName, CreatePublishableKey: req.CreatePublishableKey,
				})
				if err != nil {
					return cliAuthorizeResponse{}, err
				}
				out := cliAuthorizeResponse{RedirectURL: a.RedirectURL, APIKeyID: a.Key.Key.ID}
				if a.PublishableKey != nil {
					out.PublishableKey = &a.PublishableKey.Key
				}
				return out, nil
			}),
		rpc("auth.dashboard_token.create", authKey, "A single-use link that opens the dashboard signed in as the org's first member.",
			func(c *call, req dashboardTokenRequest) (dashboardTokenResponse, error) {
				t, err := s.svc.CreateDashboardToken(c.ctx, c.auth, req.RedirectTo)
				return dashboardTokenResponse{Token: t.Token, URL: t.URL, ExpiresAt: t.ExpiresAt}, err
			}),
		browserOp("auth.dashboard_token.exchange", "Browser navigation with ?token=: sets the session cookies and redirects (302) to the dashboard, or to <dashboard>/login when the token is invalid, expired or used.",
			s.exchangeDashboardToken),
	}
}

// exchangeDashboardToken answers a browser with 302s only, never JSON.
func (s *Server) exchangeDashboardToken(w http.ResponseWriter, r *http.Request) {
	meta := requestMeta(r)
	in, dest, err := s.svc.ExchangeDashboardToken(r.Context(), r.URL.Query().Get("token"), meta)
	w.Header().Set("Cache-Control", "no-store")
	if err != nil {
		if code := latchkey.ErrorCode(err); code != latchkey.CodeInvalidToken && code != latchkey.CodeRateLimited && code != latchkey.CodeAccountDisabled {
			s.log.ErrorContext(r.Context(), "dashboard token exchange failed", "err", err)
		}
		http.Redirect(w, r, s.svc.DashboardLoginURL(), http.StatusFound)
		return
	}
	s.setSessionCookies(w, in)
	http.Redirect(w, r, dest, http.StatusFound)
}
