package server_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/latchkey/latchkey/latchkeytest"
)

// TestHostilePasskeyCredentials: malformed credentials on a live challenge
// get a 4xx envelope, never a 5xx, in both ceremonies.
func TestHostilePasskeyCredentials(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		pe := newPasskeyEnv(t, db)
		a := pe.authenticator()
		signUp(t, pe.Client(t), a, "holder@example.com")
		_, opts := begin(t, pe.Client(t), "auth.passkey.login.begin", map[string]any{"email": "holder@example.com"})
		good, err := a.Get(opts)
		if err != nil {
			t.Fatal(err)
		}
		var real map[string]any
		if err := json.Unmarshal(good, &real); err != nil {
			t.Fatal(err)
		}
		mutate := func(f func(m map[string]any)) map[string]any {
			var m map[string]any
			_ = json.Unmarshal(good, &m)
			f(m)
			return m
		}
		resp := func(m map[string]any) map[string]any { r, _ := m["response"].(map[string]any); return r }
		credentials := map[string]any{
			"empty":               map[string]any{},
			"type only":           map[string]any{"type": "public-key"},
			"bad base64 id":       mutate(func(m map[string]any) { m["id"], m["rawId"] = "!!!", "!!!" }),
			"huge id":             mutate(func(m map[string]any) { m["id"], m["rawId"] = "QUFB"+string(repeat('Q', 40000)), "QUFB" }),
			"no response":         mutate(func(m map[string]any) { delete(m, "response") }),
			"response a string":   mutate(func(m map[string]any) { m["response"] = "x" }),
			"clientData not json": mutate(func(m map[string]any) { resp(m)["clientDataJSON"] = "bm90IGpzb24" }),
			"clientData array":    mutate(func(m map[string]any) { resp(m)["clientDataJSON"] = "W10" }),
			"authData short":      mutate(func(m map[string]any) { resp(m)["authenticatorData"] = "AAAA" }),
			"signature empty":     mutate(func(m map[string]any) { resp(m)["signature"] = "" }),
			"signature garbage":   mutate(func(m map[string]any) { resp(m)["signature"] = "MEUCIQ" }),
			"userHandle garbage":  mutate(func(m map[string]any) { resp(m)["userHandle"] = "////" }),
			"attestation garbage": mutate(func(m map[string]any) { resp(m)["attestationObject"] = "oWNmbXRkbm9uZQ" }),
			"nested nulls": mutate(func(m map[string]any) {
				m["response"] = map[string]any{"clientDataJSON": nil, "authenticatorData": nil, "signature": nil}
			}),
			"unknown credential id": mutate(func(m map[string]any) { m["id"], m["rawId"] = "AAAAAAAAAAAAAAAAAAAAAA", "AAAAAAAAAAAAAAAAAAAAAA" }),
		}
		n := 0
		for what, cred := range credentials {
			n++
			for _, op := range []string{"auth.passkey.login", "auth.passkey.register"} {
				c := pe.Client(t)
				body := map[string]any{}
				if op == "auth.passkey.register" {
					body["email"] = "new-" + itoa(n) + "@example.com"
				}
				id, _ := begin(t, c, op+".begin", body)
				r := c.Call(op+".finish", map[string]any{"challenge_id": id, "credential": cred})
				checkNoFailure(t, op+".finish "+what, r)
				if r.Status == http.StatusOK {
					t.Errorf("%s.finish %s succeeded: %s", op, what, r.Body)
				}
			}
		}
	})
}

func repeat(b byte, n int) []byte {
	out := make([]byte, n)
	for i := range out {
		out[i] = b
	}
	return out
}
