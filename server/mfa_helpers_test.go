package server_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/latchkey/latchkey/latchkeytest"
)

// totpAt is the authenticator app's code for secret at t.
func totpAt(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	code, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// wrongTOTP is a six-digit code that is none of the three the server
// accepts at the clock's time.
func wrongTOTP(t *testing.T, env *latchkeytest.Env, secret string) string {
	t.Helper()
	now := env.Clock.Now()
	valid := map[string]bool{}
	for _, d := range []time.Duration{-30 * time.Second, 0, 30 * time.Second} {
		valid[totpAt(t, secret, now.Add(d))] = true
	}
	for i := 0; ; i++ {
		c := fmt.Sprintf("%06d", (123456+i*7919)%1000000)
		if !valid[c] {
			return c
		}
	}
}

var recoveryCodeShape = regexp.MustCompile(`^[a-z2-7]{6}-[a-z2-7]{6}$`)

// enrollTOTP enrolls and confirms an authenticator app for the user of c
// and returns the factor id, the secret and the recovery codes. The clock
// moves past the confirming code's time step, so the next code is new.
func enrollTOTP(t *testing.T, env *latchkeytest.Env, c *latchkeytest.Client) (factorID, secret string, codes []string) {
	t.Helper()
	r := c.Call("auth.mfa.totp.enroll", map[string]any{"name": "Phone"})
	wantOK(t, "totp.enroll", r)
	factorID, secret = r.Str("factor_id"), r.Str("secret")
	if !strings.HasPrefix(factorID, "fac_") || secret == "" || !strings.HasPrefix(r.Str("otpauth_url"), "otpauth://totp/") ||
		!strings.Contains(r.Str("otpauth_url"), "secret="+secret) || !strings.HasPrefix(r.Str("qr_svg"), "<svg ") {
		t.Fatalf("totp.enroll: %s", r.Body)
	}
	r = c.Call("auth.mfa.totp.confirm", map[string]any{"factor_id": factorID, "code": totpAt(t, secret, env.Clock.Now())})
	wantOK(t, "totp.confirm", r)
	for _, v := range r.JSON["recovery_codes"].([]any) {
		codes = append(codes, v.(string))
	}
	env.Clock.Advance(30 * time.Second)
	return factorID, secret, codes
}

// mfaChallenge signs in with a password on a fresh client and expects the
// mfa_required answer; it returns the client, the mfa_token and factors.
func mfaChallenge(t *testing.T, env *latchkeytest.Env, email string) (*latchkeytest.Client, string, []map[string]any) {
	t.Helper()
	c := env.Client(t)
	r := c.Call("auth.login", map[string]any{"email": email, "password": pw})
	expectError(t, "login with MFA", r, http.StatusForbidden, "mfa_required")
	if r.Cookie("latchkey_access") != nil || r.Cookie("latchkey_refresh") != nil {
		t.Fatalf("mfa_required set a session cookie: %v", r.Header["Set-Cookie"])
	}
	e := r.Obj("error")
	token, _ := e["mfa_token"].(string)
	if len(token) < 40 {
		t.Fatalf("mfa_required without an mfa_token: %s", r.Body)
	}
	var factors []map[string]any
	for _, f := range e["factors"].([]any) {
		factors = append(factors, f.(map[string]any))
	}
	return c, token, factors
}

// claims decodes an access token's payload (its signature is checked by
// the server on every use; here only what it says matters).
func claims(t *testing.T, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", token)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// strs turns a JSON array into strings.
func strs(v any) []string {
	var out []string
	a, _ := v.([]any)
	for _, x := range a {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

// wantAssurance checks aal and amr both in the access token and in auth.me.
func wantAssurance(t *testing.T, env *latchkeytest.Env, what, token, aal string, amr ...string) {
	t.Helper()
	c := claims(t, token)
	if c["aal"] != aal || strings.Join(strs(c["amr"]), " ") != strings.Join(amr, " ") {
		t.Fatalf("%s: token aal=%v amr=%v, want %s %v", what, c["aal"], c["amr"], aal, amr)
	}
	me := meStatus(t, env, token)
	wantOK(t, what+": auth.me", me)
	if me.Str("aal") != aal || strings.Join(strs(me.JSON["amr"]), " ") != strings.Join(amr, " ") {
		t.Fatalf("%s: auth.me %s, want %s %v", what, me.Body, aal, amr)
	}
}
