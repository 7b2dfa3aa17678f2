package verify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

type claimsKey struct{}

// FromContext returns the claims Middleware put in the request context.
func FromContext(ctx context.Context) (*Claims, bool) {
	c, ok := ctx.Value(claimsKey{}).(*Claims)
	return c, ok
}

// WithClaims returns ctx carrying c (for handlers under test).
func WithClaims(ctx context.Context, c *Claims) context.Context {
	return context.WithValue(ctx, claimsKey{}, c)
}

// Middleware verifies the request's "Authorization: Bearer" token and
// calls next with the claims in the context; otherwise it answers 401 in
// the contract's error envelope (unauthenticated without a token,
// invalid_token for a bad one) with a WWW-Authenticate challenge
// (RFC 6750). A failure to reach the server is 503.
func (v *Verifier) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := bearer(r)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="latchkey"`)
			writeError(w, http.StatusUnauthorized, "unauthenticated", "A bearer token is required.")
			return
		}
		c, err := v.Verify(r.Context(), token)
		switch {
		case errors.Is(err, ErrInvalidToken), errors.Is(err, ErrNoToken):
			w.Header().Set("WWW-Authenticate", `Bearer realm="latchkey", error="invalid_token"`)
			writeError(w, http.StatusUnauthorized, "invalid_token", "The token is invalid, expired or revoked.")
			return
		case err != nil:
			writeError(w, http.StatusServiceUnavailable, "unavailable", "The token could not be checked; try again.")
			return
		}
		next.ServeHTTP(w, r.WithContext(WithClaims(r.Context(), c)))
	})
}

// RequireScope wraps next so that it runs only for a verified token that
// carries scope (put it under Middleware): 401 without claims, 403
// insufficient_scope without the scope.
func RequireScope(scope string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, ok := FromContext(r.Context())
			if !ok {
				writeError(w, http.StatusUnauthorized, "unauthenticated", "A bearer token is required.")
				return
			}
			if !c.HasScope(scope) {
				w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="latchkey", error="insufficient_scope", scope=%q`, scope))
				writeError(w, http.StatusForbidden, "insufficient_scope", "The token lacks the "+scope+" scope.")
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

func bearer(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	token = strings.TrimSpace(token)
	return token, ok && strings.EqualFold(scheme, "Bearer") && token != ""
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

// me is the part of auth.me's answer the online check reads.
type me struct {
	User *struct {
		ID string `json:"id"`
	} `json:"user"`
	Org struct {
		ID string `json:"id"`
	} `json:"org"`
	Scopes     []string `json:"scopes"`
	Credential string   `json:"credential"`
	SessionID  *string  `json:"session_id"`
	APIKeyID   *string  `json:"api_key_id"`
	AAL        string   `json:"aal"`
}

// online asks auth.me whether the credential is still good: a revoked
// session answers 401 at once. For an access token the offline claims
// are kept and checked against the answer; for an API key the answer is
// the claims.
func (v *Verifier) online(ctx context.Context, token string, offline *Claims) (*Claims, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.cfg.APIURL+"/v1/auth.me", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := v.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("verify: auth.me: %w", err)
	}
	defer res.Body.Close()
	switch {
	case res.StatusCode == http.StatusUnauthorized:
		return nil, fmt.Errorf("%w: revoked or unknown (auth.me)", ErrInvalidToken)
	case res.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("verify: auth.me: %s", res.Status)
	}
	var m me
	if err := json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(&m); err != nil {
		return nil, fmt.Errorf("verify: auth.me: %w", err)
	}
	if offline != nil {
		if m.Credential != "session" || m.SessionID == nil || *m.SessionID != offline.SessionID {
			return nil, fmt.Errorf("%w: auth.me names another session", ErrInvalidToken)
		}
		return offline, nil
	}
	// A key has no expiry or token id: those fields stay zero.
	c := &Claims{Issuer: v.cfg.Issuer, Org: m.Org.ID, Scopes: m.Scopes, Credential: m.Credential, AAL: m.AAL}
	if m.APIKeyID != nil {
		c.APIKeyID = *m.APIKeyID
	}
	if m.User != nil {
		c.Subject = m.User.ID
	}
	return c, nil
}
