package server_test

import (
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/latchkey/latchkey/latchkeytest"
)

// TestNonUTF8UserAgent: the User-Agent is stored with sessions and audit
// events; bytes that are not UTF-8 (HTTP allows them) must not make
// PostgreSQL refuse the row and the sign-in fail, and a huge one is cut.
func TestNonUTF8UserAgent(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		env := latchkeytest.New(t, latchkeytest.Options{Database: db})
		c := env.Client(t)
		c.Header.Set("User-Agent", "Mozilla/5.0 \xff\xfe\xc3(")
		r := c.Call("auth.register", map[string]any{"email": "ua@example.com", "password": "correct horse battery"})
		if r.Status != http.StatusOK {
			t.Fatalf("register: %d %s", r.Status, r.Body)
		}
		r = c.Call("auth.login", map[string]any{"email": "ua@example.com", "password": "correct horse battery"})
		if r.Status != http.StatusOK {
			t.Fatalf("login: %d %s", r.Status, r.Body)
		}
		c.Header.Set("User-Agent", strings.Repeat("é", 4000))
		if r := c.Call("auth.login", map[string]any{"email": "ua@example.com", "password": "correct horse battery"}); r.Status != http.StatusOK {
			t.Fatalf("login with an 8 KB User-Agent: %d %s", r.Status, r.Body)
		}
		list := c.Get("auth.sessions.list")
		if list.Status != http.StatusOK {
			t.Fatalf("sessions.list: %d %s", list.Status, list.Body)
		}
		sessions, _ := list.JSON["sessions"].([]any)
		for _, s := range sessions {
			ua, _ := s.(map[string]any)["user_agent"].(string)
			if len(ua) > 520 || !utf8.ValidString(ua) {
				t.Errorf("stored User-Agent of %d bytes (valid UTF-8: %v), want at most about 512 valid bytes", len(ua), utf8.ValidString(ua))
			}
		}
	})
}
