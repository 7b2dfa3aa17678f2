package server

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/latchkey/latchkey"
	"github.com/latchkey/latchkey/oauth"
)

// stateCookie binds an OAuth attempt to the browser that started it. It
// holds the attempt's handle, from which state, PKCE verifier and nonce
// are derived; SameSite=Lax lets the provider's redirect bring it back,
// and its path is the provider's /oauth/<id>/.
const stateCookie = "latchkey_oauth"

// oauthRoutes registers the browser side of OAuth: every outcome is a 302,
// failures to <dashboard>/login?error=<code>.
func (s *Server) oauthRoutes(mux *http.ServeMux) {
	s.handle(mux, "GET /oauth/{provider}/start", s.redirectOnPanic(s.oauthStart))
	s.handle(mux, "GET /oauth/{provider}/callback", s.redirectOnPanic(s.oauthCallback))
	s.page(mux, "GET /auth/callback", "auth_callback", nil)
	s.page(mux, "GET /auth/transfer", "auth_transfer", func(r *http.Request) any {
		return r.URL.Query().Get("token") // rendered into the form, escaped
	})
}

func (s *Server) oauthStart(w http.ResponseWriter, r *http.Request) {
	p, ok := s.cfg.OAuth.Get(r.PathValue("provider"))
	if !ok {
		s.oauthFail(w, r, latchkey.Errorf(latchkey.OAuthErrUnknownProvider, "unknown provider"))
		return
	}
	var link string
	if ck, err := r.Cookie(linkCookie); err == nil {
		link = ck.Value
		s.clearOAuthCookie(w, linkCookie, "/oauth/") // one use, whatever happens next
	}
	a, err := s.svc.BeginOAuth(r.Context(), latchkey.BeginOAuthInput{
		Provider: p.ID(), RedirectTo: r.URL.Query().Get("redirect_to"), LinkHandle: link,
		Meta: requestMeta(r),
	})
	if err != nil {
		s.oauthFail(w, r, err)
		return
	}
	authURL, err := p.AuthCodeURL(r.Context(), oauth.Attempt{State: a.State, Verifier: a.Verifier, Nonce: a.Nonce})
	if err != nil {
		s.log.WarnContext(r.Context(), "oauth provider unavailable", "provider", p.ID(), "err", err)
		s.oauthFail(w, r, latchkey.Errorf(latchkey.OAuthErrProviderFailed, "provider unavailable"))
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: stateCookie, Value: a.Handle.Reveal(), Path: oauthPath(p.ID()),
		MaxAge: int(latchkey.OAuthAttemptTTL.Seconds()), HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode,
	})
	http.Redirect(w, r, authURL, http.StatusFound)
}

func (s *Server) oauthCallback(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p, ok := s.cfg.OAuth.Get(r.PathValue("provider"))
	if !ok {
		s.oauthFail(w, r, latchkey.Errorf(latchkey.OAuthErrUnknownProvider, "unknown provider"))
		return
	}
	var handle string
	if ck, err := r.Cookie(stateCookie); err == nil {
		handle = ck.Value
	}
	s.clearOAuthCookie(w, stateCookie, oauthPath(p.ID()))
	q := r.URL.Query()
	a, err := s.svc.ResumeOAuth(ctx, p.ID(), handle, q.Get("state"))
	if err != nil {
		s.oauthFail(w, r, err)
		return
	}
	if e := q.Get("error"); e != "" {
		code := latchkey.OAuthErrProviderFailed
		if e == "access_denied" {
			code = latchkey.OAuthErrAccessDenied
		}
		s.oauthFail(w, r, latchkey.Errorf(code, "the provider answered %s", truncateName(e)))
		return
	}
	id, err := p.Exchange(ctx, q.Get("code"), oauth.Attempt{State: a.State, Verifier: a.Verifier, Nonce: a.Nonce})
	if err != nil {
		s.log.WarnContext(ctx, "oauth exchange failed", "provider", p.ID(), "err", err)
		s.oauthFail(w, r, latchkey.Errorf(latchkey.OAuthErrProviderFailed, "exchange failed"))
		return
	}
	res, err := s.svc.FinishOAuth(ctx, a, latchkey.OAuthProfile(id), requestMeta(r))
	if err != nil {
		s.oauthFail(w, r, err)
		return
	}
	dash := strings.TrimRight(s.cfg.DashboardURL, "/")
	switch {
	case res.Code != "":
		v := url.Values{"code": {res.Code.Reveal()}}
		if next, err := url.Parse(res.RedirectTo); res.RedirectTo != "" && err == nil {
			v.Set("next", next.RequestURI()) // a path: RedirectTo is on the dashboard's origin
		}
		http.Redirect(w, r, dash+"/auth/callback?"+v.Encode(), http.StatusFound)
	case res.TransferToken != "":
		http.Redirect(w, r, dash+"/auth/transfer?"+url.Values{"token": {res.TransferToken.Reveal()}}.Encode(), http.StatusFound)
	case res.RedirectTo != "":
		http.Redirect(w, r, res.RedirectTo, http.StatusFound)
	default:
		http.Redirect(w, r, dash+"/", http.StatusFound)
	}
}

// oauthFail sends the browser to the dashboard's sign-in page with the
// error's code. Unexpected errors are logged and shown as server_error:
// an OAuth route never answers with a 500 page.
func (s *Server) oauthFail(w http.ResponseWriter, r *http.Request, err error) {
	code := latchkey.ErrorCode(err)
	var e *latchkey.Error
	if !errors.As(err, &e) {
		s.log.ErrorContext(r.Context(), "oauth flow failed", "err", err)
		code = "server_error"
	}
	dash := strings.TrimRight(s.cfg.DashboardURL, "/")
	http.Redirect(w, r, dash+"/login?"+url.Values{"error": {code}}.Encode(), http.StatusFound)
}

// oauthPath scopes a provider's state cookie to its own routes, so
// attempts at two providers in one browser do not overwrite each other.
func oauthPath(provider string) string { return "/oauth/" + provider + "/" }

// redirectOnPanic keeps the browser routes' promise of a redirect even if
// a handler panics: the panic is logged and the browser goes to the
// sign-in page with server_error instead of a 500 page.
func (s *Server) redirectOnPanic(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				s.oauthFail(w, r, fmt.Errorf("panic: %v", p))
			}
		}()
		h(w, r)
	}
}

func (s *Server) clearOAuthCookie(w http.ResponseWriter, name, path string) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: path, MaxAge: -1, HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
}
