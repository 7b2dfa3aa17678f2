package server

import (
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/latchkey/latchkey"
)

// Cookie names of the contract.
const (
	accessCookie  = "latchkey_access"
	refreshCookie = "latchkey_refresh"
	refreshPath   = "/v1/auth.refresh"
)

// authenticate resolves the request's credential for op: the
// Authorization header first, then the access cookie. A cookie-borne
// credential on a state-changing operation must pass the CSRF rule.
func (s *Server) authenticate(c *call, op operation) error {
	if op.csrf && !op.Read {
		if err := s.checkCSRF(c.r); err != nil {
			return err
		}
	}
	if op.Auth == authNone {
		return nil
	}
	var token string
	fromCookie := false
	if h := c.r.Header.Get("Authorization"); h != "" {
		scheme, t, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(t) == "" {
			return latchkey.Errorf(latchkey.CodeInvalidToken, "The Authorization header must be \"Bearer <token>\".")
		}
		token = strings.TrimSpace(t)
	} else if ck, err := c.r.Cookie(accessCookie); err == nil && ck.Value != "" {
		token, fromCookie = ck.Value, true
	}
	if token == "" {
		if op.Auth == authOptional {
			return nil
		}
		return latchkey.Errorf(latchkey.CodeUnauthenticated, "Sign in first: this operation needs a credential.")
	}
	if fromCookie && !op.Read {
		if err := s.checkCSRF(c.r); err != nil {
			return err
		}
	}
	authenticate := s.svc.Authenticate
	if op.Auth == authAdmin {
		authenticate = s.svc.AuthenticateAdmin // the only way to an operator credential
	}
	ac, err := authenticate(c.ctx, token)
	if err != nil {
		// A stale cookie must not stop an operation that also works
		// anonymously (passkey sign-up, accepting an invitation).
		if fromCookie && op.Auth == authOptional && latchkey.ErrorCode(err) == latchkey.CodeInvalidToken {
			return nil
		}
		return err
	}
	ac.Meta = c.meta
	switch {
	case (op.Auth == authSession || op.Auth == authOptional) && ac.Credential != latchkey.CredentialSession:
		return latchkey.Errorf(latchkey.CodeWrongCredentialKind, "This operation needs a user session, not an API key.")
	case op.Auth == authKey && ac.Credential != latchkey.CredentialAPIKey:
		return latchkey.Errorf(latchkey.CodeWrongCredentialKind, "This operation needs a secret API key, not a user session.")
	}
	if err := latchkey.CheckMFAPolicy(ac, op.Name); err != nil {
		return err
	}
	c.auth, c.cookie = ac, fromCookie
	return nil
}

// checkCSRF applies the contract's rule to a cookie-authenticated,
// state-changing request: a JSON body, and an Origin (when sent) that is
// one of ours. A POST with no body at all and no Content-Type (a bare
// fetch(url, {method: "POST"}) of auth.logout) is read as {} and
// accepted, as auth.refresh accepts it: every cross-site form or
// no-cors request that carries a body declares a non-JSON type, and any
// cross-site request sends a foreign Origin, refused below. So every
// bodiless POST is treated alike (docs/api.md, "Bodiless POSTs").
func (s *Server) checkCSRF(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if ct == "" && r.ContentLength == 0 {
		mt, err = "application/json", nil
	}
	if err != nil || mt != "application/json" {
		return latchkey.Errorf(latchkey.CodeCSRFRejected, "A cookie-authenticated request must send Content-Type: application/json.")
	}
	if origin := r.Header.Get("Origin"); origin != "" && !s.originAllowed(origin) {
		return latchkey.Errorf(latchkey.CodeCSRFRejected, "Requests from this origin are not allowed.")
	}
	return nil
}

// setSessionCookies sets both session cookies from a sign-in.
func (s *Server) setSessionCookies(w http.ResponseWriter, in latchkey.SignIn) {
	cfg := s.svc.Config
	http.SetCookie(w, &http.Cookie{
		Name: accessCookie, Value: in.AccessToken.Reveal(), Path: "/",
		MaxAge: int(cfg.AccessTokenTTL / time.Second), HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode,
	})
	http.SetCookie(w, &http.Cookie{
		Name: refreshCookie, Value: in.RefreshToken.Reveal(), Path: refreshPath,
		MaxAge: int(cfg.RefreshTokenTTL / time.Second), HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteStrictMode,
	})
}

// clearSessionCookies expires both session cookies (Max-Age=0).
func (s *Server) clearSessionCookies(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: accessCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
	http.SetCookie(w, &http.Cookie{Name: refreshCookie, Value: "", Path: refreshPath, MaxAge: -1, HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteStrictMode})
}
