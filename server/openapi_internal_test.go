package server

import (
	"strings"
	"testing"
)

// TestOpenAPITableCodes: every code the central table names exists (has
// a status), and "code@status" overrides name a client-error status.
func TestOpenAPITableCodes(t *testing.T) {
	for name, d := range opDocs {
		for _, c := range d.errors {
			code, status := splitCode(c)
			if _, ok := statuses[code]; !ok {
				t.Errorf("%s: unknown code %q", name, code)
			}
			if strings.Contains(c, "@") && (status < 400 || status > 499) {
				t.Errorf("%s: %q has no 4xx status", name, c)
			}
		}
		if d.security != "" && d.security != secRefresh && d.security != secSession {
			t.Errorf("%s: unknown security %q", name, d.security)
		}
	}
}
