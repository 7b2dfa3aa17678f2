// Package oauthtest runs identity providers in-process for tests, over real
// HTTP on 127.0.0.1: an OpenID Connect provider (discovery, JWKS,
// authorize, token, userinfo) and a stand-in for GitHub's OAuth and user
// API. Both approve every authorization request at once as a user the test
// chooses, and both check what a strict provider checks (client
// credentials, redirect URI, PKCE S256, single-use codes), so a client that
// passes here speaks the protocol properly.
//
// A typical test:
//
//	idp := oauthtest.NewOIDC(t)
//	idp.SetUser(oauthtest.User{Subject: "u1", Email: "a@example.com", EmailVerified: true})
//	// configure the client with idp.URL, idp.ClientID, idp.ClientSecret
//	cb := oauthtest.Approve(t, authorizeURL) // the callback URL, with code and state
package oauthtest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// User is the person a provider signs in as.
type User struct {
	Subject       string
	Email         string
	EmailVerified bool
	Name          string
}

// OIDC is an in-process OpenID Connect provider. Its issuer is URL.
type OIDC struct {
	URL          string // issuer, e.g. http://127.0.0.1:41234
	ClientID     string
	ClientSecret string

	signer jose.Signer
	jwks   jose.JSONWebKeySet

	mu       sync.Mutex
	user     User
	down     bool
	editID   func(claims map[string]any)
	codes    map[string]grant
	tokens   map[string]User // access token -> user
	tokenTTL time.Duration
}

// grant is one issued authorization code and what it was issued for.
type grant struct {
	user        User       // OIDC
	github      GitHubUser // GitHub stand-in
	clientID    string
	redirectURI string
	challenge   string
	method      string
	nonce       string
	expires     time.Time
}

// NewOIDC starts a provider on 127.0.0.1 with client credentials
// "test-client"/"test-secret" and a fresh RSA key; it stops when the test
// ends. It signs in as a user with subject "user-1" until SetUser is called.
func NewOIDC(t testing.TB) *OIDC {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	kid := rand.Text()
	signer, err := jose.NewSigner(jose.SigningKey{
		Algorithm: jose.RS256,
		Key:       jose.JSONWebKey{Key: key, KeyID: kid, Algorithm: string(jose.RS256)},
	}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	p := &OIDC{
		ClientID:     "test-client",
		ClientSecret: "test-secret",
		signer:       signer,
		jwks: jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{
			Key: &key.PublicKey, KeyID: kid, Algorithm: string(jose.RS256), Use: "sig",
		}}},
		user:     User{Subject: "user-1", Email: "user-1@example.com", EmailVerified: true, Name: "User One"},
		codes:    make(map[string]grant),
		tokens:   make(map[string]User),
		tokenTTL: 5 * time.Minute,
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", p.discovery)
	mux.HandleFunc("GET /jwks", p.keys)
	mux.HandleFunc("GET /authorize", p.authorize)
	mux.HandleFunc("POST /token", p.token)
	mux.HandleFunc("GET /userinfo", p.userinfo)
	srv := httptest.NewServer(p.unlessDown(mux))
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

// SetUser makes the provider sign in as u from the next authorization on.
func (p *OIDC) SetUser(u User) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.user = u
}

// SetDown makes every endpoint answer 503 (true) or work again (false).
func (p *OIDC) SetDown(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
}

// EditIDToken makes the provider pass the claims of every ID token it
// issues to edit before signing, so a test can forge a wrong nonce,
// audience, issuer or expiry, or remove a claim. nil stops editing.
func (p *OIDC) EditIDToken(edit func(claims map[string]any)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.editID = edit
}

// AuthURL, TokenURL and UserInfoURL are the provider's endpoints, as its
// discovery document lists them.
func (p *OIDC) AuthURL() string { return p.URL + "/authorize" }

// TokenURL is the provider's token endpoint.
func (p *OIDC) TokenURL() string { return p.URL + "/token" }

// UserInfoURL is the provider's userinfo endpoint.
func (p *OIDC) UserInfoURL() string { return p.URL + "/userinfo" }

func (p *OIDC) unlessDown(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		down := p.down
		p.mu.Unlock()
		if down {
			http.Error(w, "provider down", http.StatusServiceUnavailable)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (p *OIDC) discovery(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                p.URL,
		"authorization_endpoint":                p.AuthURL(),
		"token_endpoint":                        p.TokenURL(),
		"userinfo_endpoint":                     p.UserInfoURL(),
		"jwks_uri":                              p.URL + "/jwks",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"code_challenge_methods_supported":      []string{"S256"},
		"scopes_supported":                      []string{"openid", "email", "profile"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
	})
}

func (p *OIDC) keys(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, p.jwks)
}

// authorize approves at once as the current user and redirects back with a
// code. Requests it cannot redirect safely get a 400 page instead.
func (p *OIDC) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p.mu.Lock()
	defer p.mu.Unlock()
	g, ok := authorizeGrant(w, q, p.ClientID)
	if !ok {
		return
	}
	g.user, g.nonce = p.user, q.Get("nonce")
	code := rand.Text()
	p.codes[code] = g
	redirectBack(w, r, g.redirectURI, url.Values{"code": {code}, "state": {q.Get("state")}})
}

// token redeems a code once, checking client credentials (basic or form),
// redirect URI and PKCE, and returns an access token and a signed ID token.
func (p *OIDC) token(w http.ResponseWriter, r *http.Request) {
	g, ok := redeem(w, r, &p.mu, p.codes, p.ClientID, p.ClientSecret)
	if !ok {
		return
	}
	now := time.Now()
	claims := map[string]any{
		"iss":            p.URL,
		"sub":            g.user.Subject,
		"aud":            p.ClientID,
		"iat":            now.Unix(),
		"exp":            now.Add(p.tokenTTL).Unix(),
		"email":          g.user.Email,
		"email_verified": g.user.EmailVerified,
		"name":           g.user.Name,
	}
	if g.nonce != "" {
		claims["nonce"] = g.nonce
	}
	access := rand.Text()
	p.mu.Lock()
	p.tokens[access] = g.user
	edit := p.editID
	p.mu.Unlock()
	if edit != nil {
		edit(claims)
	}
	payload, _ := json.Marshal(claims)
	jws, err := p.signer.Sign(payload)
	if err != nil {
		tokenError(w, http.StatusInternalServerError, "server_error")
		return
	}
	idToken, _ := jws.CompactSerialize()
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": access,
		"token_type":   "Bearer",
		"expires_in":   int(p.tokenTTL.Seconds()),
		"id_token":     idToken,
	})
}

func (p *OIDC) userinfo(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	u, ok := p.tokens[bearer(r)]
	p.mu.Unlock()
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		http.Error(w, "invalid token", http.StatusUnauthorized)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"sub": u.Subject, "email": u.Email, "email_verified": u.EmailVerified, "name": u.Name,
	})
}

// authorizeGrant checks an authorization request and returns the grant it
// asks for, or answers 400 itself. Every request must use PKCE S256.
func authorizeGrant(w http.ResponseWriter, q url.Values, clientID string) (grant, bool) {
	if q.Get("client_id") != clientID {
		http.Error(w, "unknown client_id", http.StatusBadRequest)
		return grant{}, false
	}
	redirect, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || !redirect.IsAbs() {
		http.Error(w, "redirect_uri must be an absolute URL", http.StatusBadRequest)
		return grant{}, false
	}
	if q.Get("response_type") != "code" {
		http.Error(w, "response_type must be code", http.StatusBadRequest)
		return grant{}, false
	}
	if q.Get("code_challenge") == "" || q.Get("code_challenge_method") != "S256" {
		http.Error(w, "PKCE with S256 is required", http.StatusBadRequest)
		return grant{}, false
	}
	return grant{
		clientID:    clientID,
		redirectURI: q.Get("redirect_uri"),
		challenge:   q.Get("code_challenge"),
		method:      q.Get("code_challenge_method"),
		expires:     time.Now().Add(time.Minute),
	}, true
}

// redeem checks a token request and burns its code, or answers the OAuth
// error itself. The code dies on first presentation, even a failed one.
func redeem(w http.ResponseWriter, r *http.Request, mu *sync.Mutex, codes map[string]grant, clientID, clientSecret string) (grant, bool) {
	if err := r.ParseForm(); err != nil {
		tokenError(w, http.StatusBadRequest, "invalid_request")
		return grant{}, false
	}
	id, secret, basic := r.BasicAuth()
	if basic {
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != clientID || subtle.ConstantTimeCompare([]byte(secret), []byte(clientSecret)) != 1 {
		tokenError(w, http.StatusUnauthorized, "invalid_client")
		return grant{}, false
	}
	if r.PostForm.Get("grant_type") != "authorization_code" {
		tokenError(w, http.StatusBadRequest, "unsupported_grant_type")
		return grant{}, false
	}
	mu.Lock()
	code := r.PostForm.Get("code")
	g, ok := codes[code]
	delete(codes, code)
	mu.Unlock()
	if !ok || time.Now().After(g.expires) || g.redirectURI != r.PostForm.Get("redirect_uri") {
		tokenError(w, http.StatusBadRequest, "invalid_grant")
		return grant{}, false
	}
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	if base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge {
		tokenError(w, http.StatusBadRequest, "invalid_grant")
		return grant{}, false
	}
	return g, true
}

func redirectBack(w http.ResponseWriter, r *http.Request, redirectURI string, params url.Values) {
	u, _ := url.Parse(redirectURI)
	q := u.Query()
	maps.Copy(q, params)
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	for _, prefix := range []string{"Bearer ", "bearer ", "token "} {
		if len(h) > len(prefix) && h[:len(prefix)] == prefix {
			return h[len(prefix):]
		}
	}
	return ""
}

func tokenError(w http.ResponseWriter, status int, code string) {
	writeJSON(w, status, map[string]string{"error": code})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
