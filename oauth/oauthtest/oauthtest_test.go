package oauthtest_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/oauth/oauthtest"
	"golang.org/x/oauth2"
)

const callback = "http://127.0.0.1:1/callback"

// authorize asks idp for a code with the given PKCE verifier.
func authorize(t *testing.T, authURL, clientID, verifier string) string {
	t.Helper()
	q := url.Values{
		"client_id": {clientID}, "redirect_uri": {callback}, "response_type": {"code"},
		"state": {"st"}, "code_challenge_method": {"S256"},
		"code_challenge": {oauth2.S256ChallengeFromVerifier(verifier)},
	}
	cb := oauthtest.Approve(t, authURL+"?"+q.Encode())
	if cb.Query().Get("state") != "st" {
		t.Fatalf("state not echoed: %s", cb)
	}
	return cb.Query().Get("code")
}

func postToken(t *testing.T, tokenURL string, form url.Values, basicID, basicSecret string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, tokenURL, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if basicID != "" {
		req.SetBasicAuth(basicID, basicSecret)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

func TestOIDCTokenEndpoint(t *testing.T) {
	idp := oauthtest.NewOIDC(t)
	verifier := oauth2.GenerateVerifier()
	tests := []struct {
		name       string
		form       url.Values
		basic      [2]string
		wantStatus int
	}{
		{"basic auth", url.Values{"code_verifier": {verifier}}, [2]string{idp.ClientID, idp.ClientSecret}, 200},
		{"form auth", url.Values{"code_verifier": {verifier}, "client_id": {idp.ClientID}, "client_secret": {idp.ClientSecret}}, [2]string{}, 200},
		{"wrong secret", url.Values{"code_verifier": {verifier}}, [2]string{idp.ClientID, "nope"}, 401},
		{"no client auth", url.Values{"code_verifier": {verifier}}, [2]string{}, 401},
		{"wrong verifier", url.Values{"code_verifier": {oauth2.GenerateVerifier()}}, [2]string{idp.ClientID, idp.ClientSecret}, 400},
		{"no verifier", url.Values{}, [2]string{idp.ClientID, idp.ClientSecret}, 400},
		{"other redirect_uri", url.Values{"code_verifier": {verifier}, "redirect_uri": {"http://127.0.0.1:2/x"}}, [2]string{idp.ClientID, idp.ClientSecret}, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code := authorize(t, idp.AuthURL(), idp.ClientID, verifier)
			form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {callback}}
			for k, v := range tt.form {
				form[k] = v
			}
			status, body := postToken(t, idp.TokenURL(), form, tt.basic[0], tt.basic[1])
			if status != tt.wantStatus {
				t.Fatalf("status = %d (%v), want %d", status, body, tt.wantStatus)
			}
			if status != 200 {
				return
			}
			if body["id_token"] == nil || body["access_token"] == nil {
				t.Errorf("token response lacks tokens: %v", body)
			}
			if again, _ := postToken(t, idp.TokenURL(), form, tt.basic[0], tt.basic[1]); again != 400 {
				t.Errorf("replayed code: status %d, want 400", again)
			}
		})
	}
}

func TestAuthorizeRequiresPKCE(t *testing.T) {
	idp := oauthtest.NewOIDC(t)
	q := url.Values{"client_id": {idp.ClientID}, "redirect_uri": {callback}, "response_type": {"code"}, "state": {"s"}}
	resp, err := http.Get(idp.AuthURL() + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("authorize without PKCE: status %d, want 400", resp.StatusCode)
	}
}

func TestGitHubTokenAnswersFormByDefault(t *testing.T) {
	gh := oauthtest.NewGitHub(t)
	verifier := oauth2.GenerateVerifier()
	code := authorize(t, gh.AuthURL(), gh.ClientID, verifier)
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {callback},
		"client_id": {gh.ClientID}, "client_secret": {gh.ClientSecret}, "code_verifier": {verifier}}
	resp, err := http.PostForm(gh.TokenURL(), form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		t.Errorf("content type %q, want form-encoded as GitHub answers", ct)
	}
}
