package server

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/latchkey/latchkey"
	"github.com/latchkey/latchkey/oauth"
	"github.com/latchkey/latchkey/sso"
)

// ssoCookie carries the browser secret of a pending SSO sign-in; it binds
// the IdP's answer to the browser that started it.
const ssoCookie = "latchkey_sso"

// ssoState holds what the SSO routes reuse between requests: OIDC
// providers (their discovery documents) and the SAML SP key pair.
type ssoState struct {
	client *http.Client // to the IdPs, built by New; see ssoHTTPClient
	mu     sync.Mutex
	oidc   map[string]*oauth.OIDC // by connection id
	keys   *sso.KeyPair
}

// ssoURLs are a connection's endpoints at this server.
type ssoURLs struct{ start, oidcCallback, samlMetadata, samlACS string }

func (s *Server) ssoURLs(id string) ssoURLs {
	base, _ := url.JoinPath(s.cfg.PublicURL, "sso", url.PathEscape(id))
	return ssoURLs{start: base + "/start", oidcCallback: base + "/oidc/callback", samlMetadata: base + "/saml/metadata", samlACS: base + "/saml/acs"}
}

// ssoHTTPClient is the client for everything an org admin's connection
// makes the server fetch; by default it refuses non-public addresses.
func (s *Server) ssoHTTPClient() *http.Client { return s.sso.client }

func (s *Server) ssoRoutes(mux *http.ServeMux) {
	s.handle(mux, "GET /sso/{id}/start", s.ssoStart)
	s.handle(mux, "GET /sso/{id}/oidc/callback", s.ssoOIDCCallback)
	s.handle(mux, "POST /sso/{id}/saml/acs", s.ssoSAMLACS)
	s.handle(mux, "GET /sso/{id}/saml/metadata", s.ssoSAMLMetadata)
}

// oidcProvider returns the cached OIDC client of a connection.
func (s *Server) oidcProvider(c latchkey.SSOConnection) *oauth.OIDC {
	s.sso.mu.Lock()
	defer s.sso.mu.Unlock()
	if p := s.sso.oidc[c.ID]; p != nil {
		return p
	}
	if s.sso.oidc == nil {
		s.sso.oidc = map[string]*oauth.OIDC{}
	}
	p := oauth.NewOIDC(oauth.Config{
		ID: c.ID, Name: "SSO", ClientID: c.ClientID, ClientSecret: c.ClientSecret.Reveal(),
		Issuer: c.Issuer, RedirectURL: s.ssoURLs(c.ID).oidcCallback,
		HTTPClient: s.ssoHTTPClient(), Now: s.svc.Now,
	})
	s.sso.oidc[c.ID] = p
	return p
}

// samlSP builds the service provider of a SAML connection.
func (s *Server) samlSP(ctx context.Context, c latchkey.SSOConnection) (*sso.ServiceProvider, error) {
	kp, err := s.samlKeyPair(ctx)
	if err != nil {
		return nil, err
	}
	md, err := sso.ParseIdPMetadata([]byte(c.IdPMetadataXML))
	if err != nil {
		return nil, err
	}
	u := s.ssoURLs(c.ID)
	return sso.NewServiceProvider(sso.SAMLConfig{MetadataURL: u.samlMetadata, ACSURL: u.samlACS, KeyPair: kp, IdP: md})
}

func (s *Server) samlKeyPair(ctx context.Context) (sso.KeyPair, error) {
	s.sso.mu.Lock()
	defer s.sso.mu.Unlock()
	if s.sso.keys != nil {
		return *s.sso.keys, nil
	}
	certPEM, keyPEM, err := s.svc.SAMLKeyPair(ctx, func() ([]byte, []byte, error) {
		return sso.GenerateKeyPair("Latchkey SAML service provider", s.svc.Now())
	})
	if err != nil {
		return sso.KeyPair{}, err
	}
	kp, err := sso.ParseKeyPair([]byte(certPEM), []byte(keyPEM))
	if err != nil {
		return sso.KeyPair{}, err
	}
	s.sso.keys = &kp
	return kp, nil
}

// ssoFail sends the browser to the dashboard's sign-in page with an
// error code, logging the detail.
func (s *Server) ssoFail(w http.ResponseWriter, r *http.Request, code string, err error) {
	if err != nil {
		s.log.InfoContext(r.Context(), "sso sign-in failed", "code", code, "err", err)
	}
	u, _ := url.JoinPath(s.cfg.DashboardURL, "login")
	http.Redirect(w, r, u+"?error="+url.QueryEscape(code), http.StatusFound)
}

// ssoFailErr picks the code of a domain error, else fallback.
func (s *Server) ssoFailErr(w http.ResponseWriter, r *http.Request, fallback string, err error) {
	var e *latchkey.Error
	if errors.As(err, &e) && e.Code != latchkey.CodeInternal {
		s.ssoFail(w, r, e.Code, err)
		return
	}
	if err != nil && !errors.As(err, &e) {
		s.log.ErrorContext(r.Context(), "sso sign-in error", "err", err)
	}
	s.ssoFail(w, r, fallback, nil)
}

func (s *Server) setSSOCookie(w http.ResponseWriter, id, value string, maxAge int) {
	// The SAML response arrives as a cross-site POST, which carries only
	// SameSite=None cookies; browsers accept those only when Secure.
	same := http.SameSiteLaxMode
	if s.secure {
		same = http.SameSiteNoneMode
	}
	http.SetCookie(w, &http.Cookie{Name: ssoCookie, Value: value, Path: "/sso/" + id + "/", MaxAge: maxAge,
		HttpOnly: true, Secure: s.secure, SameSite: same})
}

func (s *Server) ssoStart(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	conn, err := s.svc.SSOConnection(ctx, r.PathValue("id"))
	if err != nil {
		s.ssoFailErr(w, r, latchkey.CodeNotFound, notFoundOr(err))
		return
	}
	var build func(latchkey.SSOAttempt) (string, string, error)
	switch conn.Protocol {
	case latchkey.SSOProtocolOIDC:
		p := s.oidcProvider(conn)
		build = func(a latchkey.SSOAttempt) (string, string, error) {
			u, err := p.AuthCodeURL(ctx, oauth.Attempt{State: a.State, Verifier: a.Verifier, Nonce: a.Nonce})
			return u, "", err
		}
	case latchkey.SSOProtocolSAML:
		sp, err := s.samlSP(ctx, conn)
		if err != nil {
			s.ssoFailErr(w, r, latchkey.CodeSSOUnavailable, err)
			return
		}
		build = func(a latchkey.SSOAttempt) (string, string, error) { return sp.AuthnRequest(a.State) }
	default:
		s.ssoFail(w, r, latchkey.CodeNotFound, errors.New("unknown protocol "+conn.Protocol))
		return
	}
	redirect, browserSecret, err := s.svc.BeginSSO(ctx, conn.ID, requestMeta(r), build)
	if err != nil {
		s.ssoFailErr(w, r, latchkey.CodeSSOUnavailable, err)
		return
	}
	s.setSSOCookie(w, conn.ID, browserSecret, int(10*time.Minute/time.Second))
	http.Redirect(w, r, redirect, http.StatusFound)
}

// notFoundOr turns a missing connection into not_found.
func notFoundOr(err error) error {
	if errors.Is(err, latchkey.ErrNotFound) {
		return latchkey.Errorf(latchkey.CodeNotFound, "There is no such SSO connection.")
	}
	return err
}

// resume ends the browser's pending attempt at the connection in the
// path, whatever comes next.
func (s *Server) resume(w http.ResponseWriter, r *http.Request, state string) (latchkey.SSOConnection, latchkey.SSOAttempt, bool) {
	ctx := r.Context()
	id := r.PathValue("id")
	conn, err := s.svc.SSOConnection(ctx, id)
	if err != nil {
		s.ssoFailErr(w, r, latchkey.CodeNotFound, notFoundOr(err))
		return conn, latchkey.SSOAttempt{}, false
	}
	ck, _ := r.Cookie(ssoCookie)
	secret := ""
	if ck != nil {
		secret = ck.Value
	}
	s.setSSOCookie(w, conn.ID, "", -1)
	a, err := s.svc.ResumeSSO(ctx, conn.ID, secret, state)
	if err != nil {
		s.ssoFailErr(w, r, latchkey.CodeSSOInvalidState, err)
		return conn, a, false
	}
	return conn, a, true
}

func (s *Server) ssoOIDCCallback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	conn, a, ok := s.resume(w, r, q.Get("state"))
	if !ok {
		return
	}
	if conn.Protocol != latchkey.SSOProtocolOIDC {
		s.ssoFail(w, r, latchkey.CodeNotFound, nil)
		return
	}
	if e := q.Get("error"); e != "" || q.Get("code") == "" {
		s.ssoFail(w, r, latchkey.CodeSSOFailed, errors.New("IdP answered error "+truncateName(e)))
		return
	}
	id, err := s.oidcProvider(conn).Exchange(r.Context(), q.Get("code"), oauth.Attempt{State: a.State, Verifier: a.Verifier, Nonce: a.Nonce})
	if err != nil {
		code := latchkey.CodeSSOFailed
		if errors.Is(err, oauth.ErrUnavailable) {
			code = latchkey.CodeSSOUnavailable
		}
		s.ssoFail(w, r, code, err)
		return
	}
	s.ssoComplete(w, r, conn, latchkey.SSOLogin{Subject: id.Subject, Email: id.Email, Name: id.Name})
}

// maxSAMLForm bounds the posted SAMLResponse form.
const maxSAMLForm = 1 << 20

func (s *Server) ssoSAMLACS(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxSAMLForm)
	if err := r.ParseForm(); err != nil {
		s.ssoFail(w, r, latchkey.CodeSSOFailed, err)
		return
	}
	conn, a, ok := s.resume(w, r, r.PostForm.Get("RelayState"))
	if !ok {
		return
	}
	if conn.Protocol != latchkey.SSOProtocolSAML {
		s.ssoFail(w, r, latchkey.CodeNotFound, nil)
		return
	}
	sp, err := s.samlSP(r.Context(), conn)
	if err != nil {
		s.ssoFailErr(w, r, latchkey.CodeSSOUnavailable, err)
		return
	}
	id, err := sp.ParseResponse(r, []string{a.RequestID})
	if err != nil {
		s.ssoFail(w, r, latchkey.CodeSSOFailed, err)
		return
	}
	s.ssoComplete(w, r, conn, latchkey.SSOLogin{Subject: id.Subject, Email: id.Email, Name: id.Name,
		AssertionID: id.AssertionID, AssertionExpiry: id.AssertionExpiry})
}

func (s *Server) ssoComplete(w http.ResponseWriter, r *http.Request, conn latchkey.SSOConnection, in latchkey.SSOLogin) {
	code, err := s.svc.CompleteSSO(r.Context(), conn.ID, in, requestMeta(r))
	if err != nil {
		s.ssoFailErr(w, r, latchkey.CodeSSOFailed, err)
		return
	}
	u, _ := url.JoinPath(s.cfg.DashboardURL, "auth", "callback")
	http.Redirect(w, r, u+"?code="+url.QueryEscape(code), http.StatusFound)
}

func (s *Server) ssoSAMLMetadata(w http.ResponseWriter, r *http.Request) {
	conn, err := s.svc.SSOConnection(r.Context(), r.PathValue("id"))
	if err != nil || conn.Protocol != latchkey.SSOProtocolSAML {
		s.writeError(w, r, notFoundOr(latchkey.ErrNotFound))
		return
	}
	sp, err := s.samlSP(r.Context(), conn)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	sp.ServeMetadata(w, r)
}
