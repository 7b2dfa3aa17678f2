package server_test

import (
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/latchkeytest"
)

// hostileBodies are request bodies no operation may answer with a 5xx.
func hostileBodies() map[string]string {
	deep := strings.Repeat(`{"a":`, 20000) + `1` + strings.Repeat(`}`, 20000)
	return map[string]string{
		"null":          `null`,
		"array":         `[]`,
		"string":        `"x"`,
		"number":        `123`,
		"truncated":     `{"a":`,
		"garbage":       `{{{{`,
		"trailing":      `{} {}`,
		"invalid utf-8": "{\"email\":\"\xff\xfe\xfd\"}",
		"deep nesting":  deep,
		"70 KB":         `{"email":"` + strings.Repeat("a", 70<<10) + `"}`,
		"unknown field": `{"no_such_field":1}`,
	}
}

// fieldValues are wrong or extreme values sent in each declared field.
var fieldValues = map[string]string{
	"number":         `123`,
	"negative":       `-1e308`,
	"float":          `1.5`,
	"bool":           `true`,
	"null":           `null`,
	"array":          `[1,{"a":null}]`,
	"string array":   `["\u0000", "api:read", "` + strings.Repeat("z", 3000) + `"]`,
	"object":         `{"a":{"b":[]}}`,
	"empty":          `""`,
	"nul":            `"a\u0000b"`,
	"huge":           `"` + strings.Repeat("x", 60<<10) + `"`,
	"invalid utf-8":  "\"\xff\xfe\"",
	"lone surrogate": `"\ud800"`,
	"control chars":  `"\r\n\t\u0001\u007f"`,
	"url-ish":        `"javascript:alert(1)//\\evil.com/%2F%2F"`,
	"email-ish":      `"a@b@c@"`,
	"ids":            `"usr_' OR 1=1 --"`,
}

// TestHostileBodiesNeverFail sends every operation of the OpenAPI
// document a battery of malformed and hostile bodies, anonymously, with a
// session cookie and with a secret API key, and checks that none gets a
// 5xx and every error is the contract's envelope.
func TestHostileBodiesNeverFail(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		env := latchkeytest.New(t, latchkeytest.Options{Database: db})
		ops := operationFields(t, env)
		if len(ops) < 30 {
			t.Fatalf("the OpenAPI document lists only %d operations", len(ops))
		}
		names := make([]string, 0, len(ops))
		for name := range ops {
			names = append(names, name)
		}
		sort.Strings(names)
		n := 0
		seen := map[int]int{}
		defer func() { t.Logf("%d operations; statuses %v", len(ops), seen) }()
		for _, op := range names {
			for _, mode := range []string{"anonymous", "session", "api key"} {
				c := hostileClient(t, env, mode, n)
				n++
				bodies := hostileBodies()
				for field := range ops[op] {
					for kind, v := range fieldValues {
						bodies[field+"="+kind] = `{"` + field + `":` + v + `}`
						// The same value with plausible other fields, to get past
						// "field required" checks into the flow and the database.
						b := plausible(ops[op])
						b[field] = json.RawMessage(v)
						raw, _ := json.Marshal(b)
						bodies[field+"="+kind+" among plausible"] = string(raw)
					}
				}
				for what, body := range bodies {
					r := c.Call(op, body)
					seen[r.Status]++
					checkNoFailure(t, op+" "+mode+" "+what, r)
					if (op == "auth.logout" || op == "auth.account.delete" || op == "auth.sessions.revoke") && r.Status == http.StatusOK {
						c = hostileClient(t, env, mode, n) // the credential is gone; get another
						n++
					}
				}
				checkNoFailure(t, op+" "+mode+" GET", c.Do(http.MethodGet, "/v1/"+op+"?token=%00%ff&redirect_to=//evil.com", nil, nil))
			}
		}
	})
}

// operationFields reads the operations and their request fields from the
// server's own OpenAPI document.
func operationFields(t *testing.T, env *latchkeytest.Env) map[string]map[string]string {
	t.Helper()
	r := env.Client(t).Do(http.MethodGet, "/v1/openapi.json", nil, nil)
	var doc struct {
		Paths map[string]map[string]struct {
			RequestBody struct {
				Content map[string]struct {
					Schema schemaProps `json:"schema"`
				} `json:"content"`
			} `json:"requestBody"`
		} `json:"paths"`
		Components struct {
			Schemas map[string]schemaProps `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(r.Body, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	out := map[string]map[string]string{}
	for path, item := range doc.Paths {
		op, ok := strings.CutPrefix(path, "/v1/")
		if !ok {
			continue
		}
		schema := item["post"].RequestBody.Content["application/json"].Schema
		if ref, ok := strings.CutPrefix(schema.Ref, "#/components/schemas/"); ok {
			schema = doc.Components.Schemas[ref]
		}
		fields := map[string]string{}
		for name, p := range schema.Properties {
			typ, _ := p.(map[string]any)["type"].(string)
			fields[name] = typ
		}
		out[op] = fields
	}
	return out
}

// plausible returns a body with a believable value for every field.
func plausible(fields map[string]string) map[string]json.RawMessage {
	out := map[string]json.RawMessage{}
	for name, typ := range fields {
		v := `"plausible"`
		switch {
		case typ == "boolean":
			v = `false`
		case typ == "array":
			v = `["api:read"]`
		case typ == "object":
			v = `{}`
		case typ == "integer" || typ == "number":
			v = `1`
		case strings.Contains(name, "email"):
			v = `"victim@example.com"`
		case strings.Contains(name, "password"):
			v = `"correct horse battery"`
		case strings.Contains(name, "url") || strings.Contains(name, "redirect"):
			v = `"http://127.0.0.1:1/cb"`
		case name == "role":
			v = `"member"`
		case name == "protocol":
			v = `"oidc"`
		}
		out[name] = json.RawMessage(v)
	}
	return out
}

type schemaProps struct {
	Ref        string         `json:"$ref"`
	Properties map[string]any `json:"properties"`
}

// hostileClient returns a client that is anonymous, signed in by cookie,
// or holding a secret API key with every scope.
func hostileClient(t *testing.T, env *latchkeytest.Env, mode string, n int) *latchkeytest.Client {
	t.Helper()
	c := env.Client(t)
	c.Header.Set("User-Agent", "hostile \xff\xfe "+strings.Repeat("u", 2000))
	if mode == "anonymous" {
		return c
	}
	c.Register("hostile"+strings.Repeat("x", n%3)+"-"+itoa(n)+"@example.com", "correct horse battery")
	if mode == "session" {
		return c
	}
	r := c.Call("org.api_keys.create", map[string]any{"name": "k", "scopes": []string{"api:read", "api:write", "org:admin"}})
	if r.Status != http.StatusOK {
		t.Fatalf("create key: %d %s", r.Status, r.Body)
	}
	k := env.Client(t)
	k.Bearer = r.Str("secret")
	return k
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// checkNoFailure fails on a 5xx and on a 4xx without the error envelope.
func checkNoFailure(t *testing.T, what string, r *latchkeytest.Response) {
	t.Helper()
	if r.Status >= 500 {
		t.Errorf("%s: %d %.300s", what, r.Status, r.Body)
		return
	}
	if r.Status < 400 {
		return
	}
	e, _ := r.JSON["error"].(map[string]any)
	for _, k := range []string{"code", "message", "request_id"} {
		if s, _ := e[k].(string); s == "" {
			t.Errorf("%s: %d without error.%s: %.300s", what, r.Status, k, r.Body)
		}
	}
}

// TestNulInAStringIsInvalid: PostgreSQL refuses NUL in text, so a NUL in
// any string field is a 400 naming the field rather than a 500 from the
// database.
func TestNulInAStringIsInvalid(t *testing.T) {
	env := latchkeytest.New(t, latchkeytest.Options{})
	c := env.Client(t)
	c.Register("nul@example.com", "correct horse battery")
	for _, tc := range []struct{ op, body, field string }{
		{"auth.sessions.revoke", `{"session_id":"ses_\u0000"}`, "session_id"},
		{"org.api_keys.revoke", `{"id":"key_\u0000x"}`, "id"},
		{"auth.login", `{"email":"a@example.com","password":"\u0000"}`, "password"},
		{"org.api_keys.create", `{"name":"k","scopes":["api:read","\u0000"]}`, "scopes"},
	} {
		r := c.Call(tc.op, tc.body)
		e, _ := r.JSON["error"].(map[string]any)
		if r.Status != http.StatusBadRequest || r.Code() != "invalid_request" || e["field"] != tc.field {
			t.Errorf("%s %s: %d %s, want 400 invalid_request field %s", tc.op, tc.body, r.Status, r.Body, tc.field)
		}
	}
}

// TestHostileBrowserRoutesNeverFail sends the browser routes hostile path
// segments, queries and form bodies: none may answer with a 5xx.
func TestHostileBrowserRoutesNeverFail(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		env := latchkeytest.New(t, latchkeytest.Options{Database: db})
		anon := env.Client(t)
		signed := env.Client(t)
		signed.Register("browser@example.com", "correct horse battery")
		ids := []string{"%00", "%ff%fe", "x%00y", strings.Repeat("a", 4000), "sso_%27%22", "..%2F..%2F", "github", "%E2%80%AE"}
		queries := []string{"", "?state=%00&code=%00", "?state=%ff&code=%fe&error=%00", "?redirect_to=//evil.com%00", "?token=%00", "?SAMLResponse=%00", "?next=%5C%5Cevil.com"}
		paths := []string{"/oauth/%s/start", "/oauth/%s/callback", "/sso/%s/start", "/sso/%s/oidc/callback", "/sso/%s/saml/metadata", "/v1/auth.dashboard_token.exchange"}
		for _, c := range []*latchkeytest.Client{anon, signed} {
			for _, p := range paths {
				for _, id := range ids {
					for _, q := range queries {
						path := strings.Replace(p, "%s", id, 1) + q
						r := c.Do(http.MethodGet, path, nil, nil)
						if r.Status >= 500 {
							t.Errorf("GET %.200s: %d %.300s", path, r.Status, r.Body)
						}
					}
				}
			}
			for _, id := range ids {
				for _, form := range []string{"", "SAMLResponse=%00", "SAMLResponse=PHg+", "RelayState=%00&SAMLResponse=" + strings.Repeat("A", 60000)} {
					path := "/sso/" + id + "/saml/acs"
					r := c.Do(http.MethodPost, path, form, http.Header{"Content-Type": {"application/x-www-form-urlencoded"}})
					if r.Status >= 500 {
						t.Errorf("POST %.200s %.50s: %d %.300s", path, form, r.Status, r.Body)
					}
				}
			}
		}
	})
}

// TestHostileCredentialsNeverFail: malformed bearer tokens and cookies get
// 401 invalid_token (or the operation's anonymous answer), never a 5xx.
func TestHostileCredentialsNeverFail(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		env := latchkeytest.New(t, latchkeytest.Options{Database: db})
		tokens := []string{
			"sk_live_\xff\xfe", "sk_live_", "sk_", "pk_live_abc", "sk_live_" + strings.Repeat("a", 8000),
			"a.b.c", "\xff.\xfe.\xfd", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", "eyJhbGciOiJFZERTQSIsImtpZCI6Ilx1MDBmZiJ9.e30.AAAA",
			"eyJ\xff.e30.AAAA", strings.Repeat(".", 5000),
		}
		ops := []string{"auth.me", "auth.logout", "org.api_keys.list", "auth.dashboard_token.create", "auth.sessions.list", "auth.complete_invitation"}
		for _, tok := range tokens {
			for _, op := range ops {
				c := env.Client(t)
				c.Bearer = tok
				checkNoFailure(t, op+" bearer "+tok[:min(len(tok), 20)], c.Call(op, map[string]any{}))
				c = env.Client(t)
				c.Header.Set("Cookie", "latchkey_access="+tok+"; latchkey_refresh="+tok)
				checkNoFailure(t, op+" cookie "+tok[:min(len(tok), 20)], c.Call(op, map[string]any{}))
			}
			c := env.Client(t)
			c.Header.Set("Cookie", "latchkey_refresh="+tok)
			checkNoFailure(t, "auth.refresh cookie "+tok[:min(len(tok), 20)], c.Call("auth.refresh", nil))
		}
	})
}
