package oauthtest

import (
	"net/http"
	"net/url"
	"testing"
)

// Approve plays the browser at a provider: it GETs authorizeURL without
// following redirects and returns the URL the provider sent the browser
// back to (the client's callback with code and state). It fails the test
// when the provider does not redirect.
func Approve(t testing.TB, authorizeURL string) *url.URL {
	t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	resp, err := client.Get(authorizeURL)
	if err != nil {
		t.Fatalf("authorize: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize: status %d, want 302", resp.StatusCode)
	}
	loc, err := resp.Location()
	if err != nil {
		t.Fatalf("authorize: %v", err)
	}
	return loc
}
