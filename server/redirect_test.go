package server_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/latchkey/latchkey"
	"github.com/latchkey/latchkey/latchkeytest"
)

// hostileDestinations are redirect targets that must never send a browser
// off the dashboard's origin. DASH stands for the dashboard's origin
// (http://127.0.0.1:port) and HOST for its host:port.
var hostileDestinations = []string{
	"//evil.com",
	"//evil.com/x",
	"/\\evil.com",
	"\\\\evil.com",
	"/\\/evil.com",
	"\\/evil.com",
	"javascript:alert(1)",
	"JavaScript:alert(1)",
	" javascript:alert(1)",
	"data:text/html,<script>alert(1)</script>",
	"https://evil.com",
	"http://evil.com",
	"https://good@evil.com",
	"http://HOST@evil.com",
	"http://HOST.evil.com/",
	"http://HOST:1@evil.com",
	"http://dashboard.evil/",
	"/\t/evil.com",
	"/\n/evil.com",
	"/\r\n/evil.com",
	"\t//evil.com",
	"/%2F%2Fevil.com",
	"/%2f/evil.com",
	"/%5Cevil.com",
	"/%5C%5Cevil.com",
	"%2F%2Fevil.com",
	"/.//evil.com",
	"/./\\evil.com",
	"/..//evil.com",
	"/x/..//evil.com",
	"///evil.com",
	"http:/evil.com",
	"http:evil.com",
	"https:\\\\evil.com",
	"http://localhost:1.evil.com/",
	"http://127.0.0.1:1.evil.com/",
	"DASH.evil.com/",
	"DASH@evil.com/",
	"http://HOST%2F@evil.com/",
	"http://HOST%40evil.com/",
	"http://evil.com#@HOST/",
	"http://evil.com?@HOST/",
	"http://evil.com\\@HOST/",
	"http://[::1]@evil.com/",
	"//HOST@evil.com/",
	"/%09/evil.com",
	"/\x00/evil.com",
	"/\x0b/evil.com",
	"\x01//evil.com",
}

// checkOnDashboard fails unless dest is empty or an address on the
// dashboard's origin whose path cannot be read as another host.
func checkOnDashboard(t *testing.T, what, hostile, dest string, dash *url.URL) {
	t.Helper()
	if dest == "" {
		return
	}
	u, err := url.Parse(dest)
	if err != nil || u.Scheme != dash.Scheme || u.Host != dash.Host || u.User != nil || u.Opaque != "" {
		t.Errorf("%s(%q) = %q, off the dashboard's origin %s", what, hostile, dest, dash.Host)
		return
	}
	if strings.HasPrefix(u.EscapedPath(), "//") || strings.ContainsAny(dest, "\\\t\r\n") {
		t.Errorf("%s(%q) = %q, a path a browser may read as another host", what, hostile, dest)
	}
}

// checkLocalPath fails unless next is empty or a path on this origin.
func checkLocalPath(t *testing.T, what, hostile, next string) {
	t.Helper()
	if next == "" {
		return
	}
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") || strings.ContainsAny(next, "\\\t\r\n") {
		t.Errorf("%s(%q) = %q, not a plain local path", what, hostile, next)
	}
}

var dataNext = regexp.MustCompile(`<main[^>]*data-next="([^"]*)"`)

// TestRedirectsStayOnTheDashboard runs one table of hostile destinations
// through every place that redirects a browser: Service.SafeRedirect (OAuth
// redirect_to, linking), the dashboard token's redirect_to, the pages'
// ?next=, and the CLI's callback_url.
func TestRedirectsStayOnTheDashboard(t *testing.T) {
	env := latchkeytest.New(t, latchkeytest.Options{})
	dash, _ := url.Parse(env.Service.Config.DashboardURL)
	owner := env.Client(t)
	owner.Register("redirect@example.com", "correct horse battery")
	key := owner.Call("org.api_keys.create", map[string]any{"name": "k", "scopes": []string{"org:admin"}})
	if key.Status != http.StatusOK {
		t.Fatalf("create key: %d %s", key.Status, key.Body)
	}
	k := env.Client(t)
	k.Bearer = key.Str("secret")

	for _, raw := range hostileDestinations {
		h := strings.NewReplacer("DASH", dash.Scheme+"://"+dash.Host, "HOST", dash.Host).Replace(raw)

		checkOnDashboard(t, "SafeRedirect", h, env.Service.SafeRedirect(h), dash)
		if got := env.Service.SafeRedirect(h); got != "" && !strings.HasPrefix(h, "/") && !strings.HasPrefix(h, dash.Scheme+"://"+dash.Host+"/") {
			t.Errorf("SafeRedirect(%q) = %q, want it refused", h, got)
		}

		tok := k.Call("auth.dashboard_token.create", map[string]any{"redirect_to": h})
		if tok.Status == http.StatusOK {
			r := env.Client(t).Do(http.MethodGet, "/v1/auth.dashboard_token.exchange?token="+url.QueryEscape(tok.Str("token")), nil, nil)
			if r.Status != http.StatusFound {
				t.Fatalf("exchange: %d %s", r.Status, r.Body)
			}
			checkOnDashboard(t, "dashboard_token redirect_to", h, r.Header.Get("Location"), dash)
		} else if tok.Status != http.StatusBadRequest {
			t.Errorf("dashboard_token.create(redirect_to=%q): %d %s", h, tok.Status, tok.Body)
		}

		page := env.Client(t).Do(http.MethodGet, "/login?next="+url.QueryEscape(h), nil, nil)
		m := dataNext.FindSubmatch(page.Body)
		if page.Status != http.StatusOK || m == nil {
			t.Fatalf("GET /login?next=: %d, no data-next", page.Status)
		}
		checkLocalPath(t, "page next", h, html.UnescapeString(string(m[1])))

		if _, err := latchkey.CheckCallbackURL(h); err == nil {
			t.Errorf("CheckCallbackURL(%q) accepted it", h)
		}
	}
}
