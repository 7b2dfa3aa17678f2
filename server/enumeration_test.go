package server_test

import (
	"bytes"
	"net/http"
	"slices"
	"testing"

	"github.com/latchkey/latchkey/latchkeytest"
)

// sameAnswer fails unless a and b have the same status, the same headers
// (but Date and X-Request-Id) and, apart from the request id, the same body.
func sameAnswer(t *testing.T, what string, a, b *latchkeytest.Response) {
	t.Helper()
	if a.Status != b.Status {
		t.Errorf("%s: status %d vs %d", what, a.Status, b.Status)
	}
	for _, h := range []http.Header{a.Header, b.Header} {
		h.Del("Date")
		h.Del("X-Request-Id")
	}
	keys := func(h http.Header) []string {
		var out []string
		for k := range h {
			out = append(out, k)
		}
		slices.Sort(out)
		return out
	}
	if !slices.Equal(keys(a.Header), keys(b.Header)) {
		t.Errorf("%s: headers %v vs %v", what, keys(a.Header), keys(b.Header))
	}
	for k := range a.Header {
		if !slices.Equal(a.Header[k], b.Header[k]) {
			t.Errorf("%s: header %s %q vs %q", what, k, a.Header[k], b.Header[k])
		}
	}
	strip := func(r *latchkeytest.Response) []byte {
		if e, ok := r.JSON["error"].(map[string]any); ok {
			if id, _ := e["request_id"].(string); id != "" {
				return bytes.ReplaceAll(r.Body, []byte(id), nil)
			}
		}
		return r.Body
	}
	if !bytes.Equal(strip(a), strip(b)) {
		t.Errorf("%s: body %s vs %s", what, a.Body, b.Body)
	}
}

// TestNoAccountEnumeration: where the contract promises it, a known and an
// unknown address get the same answer, byte for byte and header for header.
func TestNoAccountEnumeration(t *testing.T) {
	env := latchkeytest.New(t, latchkeytest.Options{})
	env.Client(t).Register("known@example.com", "correct horse battery")

	sameAnswer(t, "auth.password.reset.request",
		env.Client(t).Call("auth.password.reset.request", map[string]any{"email": "known@example.com"}),
		env.Client(t).Call("auth.password.reset.request", map[string]any{"email": "unknown@example.com"}))
	sameAnswer(t, "auth.login",
		env.Client(t).Call("auth.login", map[string]any{"email": "known@example.com", "password": "wrong password 1"}),
		env.Client(t).Call("auth.login", map[string]any{"email": "unknown@example.com", "password": "wrong password 1"}))
	sameAnswer(t, "auth.sso.discover",
		env.Client(t).Call("auth.sso.discover", map[string]any{"email": "known@example.com"}),
		env.Client(t).Call("auth.sso.discover", map[string]any{"email": "unknown@example.com"}))
}
