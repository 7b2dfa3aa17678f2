package oauthtest

import (
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// GitHubUser is the account a GitHub stand-in signs in as.
type GitHubUser struct {
	ID     int64
	Login  string
	Name   string
	Email  string // public profile email, may be empty
	Emails []GitHubEmail
}

// GitHubEmail is one entry of GitHub's /user/emails answer.
type GitHubEmail struct {
	Email    string `json:"email"`
	Primary  bool   `json:"primary"`
	Verified bool   `json:"verified"`
}

// GitHub stands in for github.com's OAuth endpoints and api.github.com's
// /user and /user/emails, at the paths AuthURL, TokenURL and UserInfoURL
// return. Like GitHub, its token endpoint answers form-encoded unless the
// client accepts JSON.
type GitHub struct {
	URL          string
	ClientID     string
	ClientSecret string

	mu     sync.Mutex
	user   GitHubUser
	codes  map[string]grant
	tokens map[string]GitHubUser
}

// NewGitHub starts a GitHub stand-in on 127.0.0.1 with client credentials
// "gh-client"/"gh-secret"; it stops when the test ends. It signs in as
// octocat (id 1, primary verified email octocat@example.com) until SetUser.
func NewGitHub(t testing.TB) *GitHub {
	t.Helper()
	g := &GitHub{
		ClientID:     "gh-client",
		ClientSecret: "gh-secret",
		user: GitHubUser{ID: 1, Login: "octocat", Name: "The Octocat", Emails: []GitHubEmail{
			{Email: "octocat@example.com", Primary: true, Verified: true},
		}},
		codes:  make(map[string]grant),
		tokens: make(map[string]GitHubUser),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login/oauth/authorize", g.authorize)
	mux.HandleFunc("POST /login/oauth/access_token", g.token)
	mux.HandleFunc("GET /user", g.apiUser)
	mux.HandleFunc("GET /user/emails", g.apiEmails)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	g.URL = srv.URL
	return g
}

// SetUser makes the stand-in sign in as u from the next authorization on.
func (g *GitHub) SetUser(u GitHubUser) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.user = u
}

// AuthURL is the authorization endpoint (LATCHKEY_OAUTH_GITHUB_AUTH_URL).
func (g *GitHub) AuthURL() string { return g.URL + "/login/oauth/authorize" }

// TokenURL is the token endpoint (LATCHKEY_OAUTH_GITHUB_TOKEN_URL).
func (g *GitHub) TokenURL() string { return g.URL + "/login/oauth/access_token" }

// UserInfoURL is the /user endpoint (LATCHKEY_OAUTH_GITHUB_USERINFO_URL).
func (g *GitHub) UserInfoURL() string { return g.URL + "/user" }

func (g *GitHub) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	g.mu.Lock()
	defer g.mu.Unlock()
	gr, ok := authorizeGrant(w, q, g.ClientID)
	if !ok {
		return
	}
	code := rand.Text()
	gr.github = g.user
	g.codes[code] = gr
	redirectBack(w, r, gr.redirectURI, url.Values{"code": {code}, "state": {q.Get("state")}})
}

func (g *GitHub) token(w http.ResponseWriter, r *http.Request) {
	gr, ok := redeem(w, r, &g.mu, g.codes, g.ClientID, g.ClientSecret)
	if !ok {
		return
	}
	access := "gho_" + rand.Text()
	g.mu.Lock()
	g.tokens[access] = gr.github
	g.mu.Unlock()
	answer := url.Values{"access_token": {access}, "token_type": {"bearer"}, "scope": {"read:user,user:email"}}
	if strings.Contains(r.Header.Get("Accept"), "application/json") {
		writeJSON(w, http.StatusOK, map[string]string{
			"access_token": access, "token_type": "bearer", "scope": "read:user,user:email",
		})
		return
	}
	w.Header().Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	_, _ = w.Write([]byte(answer.Encode()))
}

func (g *GitHub) account(w http.ResponseWriter, r *http.Request) (GitHubUser, bool) {
	g.mu.Lock()
	u, ok := g.tokens[bearer(r)]
	g.mu.Unlock()
	if !ok {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "Bad credentials"})
		return GitHubUser{}, false
	}
	return u, true
}

func (g *GitHub) apiUser(w http.ResponseWriter, r *http.Request) {
	u, ok := g.account(w, r)
	if !ok {
		return
	}
	var email any
	if u.Email != "" {
		email = u.Email
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"id": u.ID, "login": u.Login, "name": u.Name, "email": email,
		"created_at": time.Unix(0, 0).UTC().Format(time.RFC3339),
	})
}

func (g *GitHub) apiEmails(w http.ResponseWriter, r *http.Request) {
	u, ok := g.account(w, r)
	if !ok {
		return
	}
	emails := u.Emails
	if emails == nil {
		emails = []GitHubEmail{}
	}
	writeJSON(w, http.StatusOK, emails)
}
