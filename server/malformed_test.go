package server_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/latchkeytest"
)

// malformed is a request that must fail with a 4xx and the envelope.
type malformed struct {
	name   string
	op     string // POST /v1/<op> unless method/path say otherwise
	body   string
	header http.Header
	auth   bool   // send the signed-in user's bearer token
	status int    // 0: any 4xx
	field  string // for invalid_request: the field named ("-" for none)
}

func malformedRequests() []malformed {
	login := func(name, body, field string) malformed {
		return malformed{name: name, op: "auth.login", body: body, status: 400, field: field}
	}
	register := func(name, body, field string) malformed {
		return malformed{name: name, op: "auth.register", body: body, status: 400, field: field}
	}
	authed := func(name, op, body, field string) malformed {
		return malformed{name: name, op: op, body: body, auth: true, status: 400, field: field}
	}
	return []malformed{
		login("truncated JSON", `{"email": "a@example.com"`, ""),
		login("not JSON", `email=a@example.com&password=x`, ""),
		login("array", `[]`, ""),
		login("array of objects", `[{"email": "a@example.com", "password": "x"}]`, ""),
		login("null", `null`, ""),
		login("string", `"a@example.com"`, ""),
		login("number", `42`, ""),
		login("true", `true`, ""),
		login("trailing object", `{"email": "a@example.com", "password": "x"} {"a": 1}`, ""),
		login("trailing garbage", `{"email": "a@example.com", "password": "x"}garbage`, ""),
		login("trailing comma", `{"email": "a@example.com", "password": "x",}`, ""),
		login("single quotes", `{'email': 'a@example.com'}`, ""),
		login("comment", `{/* hi */ "email": "a@example.com"}`, ""),
		login("byte order mark", "\uFEFF{\"email\": \"a@example.com\", \"password\": \"x\"}", ""),
		login("UTF-16", "\xff\xfe{\x00\"\x00e\x00\"\x00:\x00}\x00", ""),
		login("invalid UTF-8 in a value", "{\"email\": \"a@example.com\", \"password\": \"\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8\"}", ""),
		login("invalid UTF-8 in a key", "{\"\xffemail\": \"a@example.com\"}", ""),
		login("email as number", `{"email": 5, "password": "correct horse battery"}`, "email"),
		login("email as array", `{"email": ["a@example.com"], "password": "correct horse battery"}`, "email"),
		login("email as object", `{"email": {"a": 1}, "password": "correct horse battery"}`, "email"),
		login("email as bool", `{"email": true, "password": "correct horse battery"}`, "email"),
		login("email null", `{"email": null, "password": "correct horse battery"}`, "email"),
		login("password as number", `{"email": "a@example.com", "password": 12345678}`, "password"),
		login("password huge number", `{"email": "a@example.com", "password": 1e400}`, "password"),
		login("unknown field", `{"email": "a@example.com", "password": "x", "admin": true}`, "admin"),
		login("unknown field only", `{"role": "owner"}`, "role"),
		login("field name in another case", `{"Email": "a@example.com", "password": "x"}`, "Email"),
		login("field name in capitals after the real one", `{"email": "a@example.com", "password": "x", "PASSWORD": "y"}`, "PASSWORD"),
		login("empty object", `{}`, "email"),
		login("whitespace body", "   \n\t ", "email"),
		login("empty email", `{"email": "", "password": "correct horse battery"}`, "email"),
		login("email without domain dot", `{"email": "a@localhost", "password": "correct horse battery"}`, "email"),
		login("email with NUL", `{"email": "a\u0000@example.com", "password": "correct horse battery"}`, "email"),
		login("email with newline header", `{"email": "a@example.com\nBcc: b@example.com", "password": "correct horse battery"}`, "email"),
		login("email with display name", `{"email": "A <a@example.com>", "password": "correct horse battery"}`, "email"),
		login("lone surrogate email", `{"email": "\ud800@example.com", "password": "correct horse battery"}`, "email"),
		login("very long email", `{"email": "`+strings.Repeat("a", 300)+`@example.com", "password": "correct horse battery"}`, "email"),
		login("huge email", `{"email": "`+strings.Repeat("a", 60000)+`", "password": "x"}`, "email"),
		login("deep nesting", `{"email": `+strings.Repeat("[", 20000)+strings.Repeat("]", 20000)+`}`, ""),
		register("name as number", `{"email": "n@example.com", "password": "correct horse battery", "name": 7}`, "name"),
		register("org_name as array", `{"email": "n@example.com", "password": "correct horse battery", "org_name": ["x"]}`, "org_name"),
		register("name with NUL", `{"email": "n@example.com", "password": "correct horse battery", "name": "a\u0000b"}`, "name"),
		register("name too long", `{"email": "n@example.com", "password": "correct horse battery", "name": "`+strings.Repeat("n", 201)+`"}`, "name"),
		register("unknown field", `{"email": "n@example.com", "password": "correct horse battery", "plan": "pro"}`, "plan"),
		register("weak password", `{"email": "n@example.com", "password": "1234567"}`, "password"),
		authed("session_id as number", "auth.sessions.revoke", `{"session_id": 1}`, "session_id"),
		authed("session_id empty", "auth.sessions.revoke", `{"session_id": ""}`, "session_id"),
		authed("org_id as array", "auth.org.switch", `{"org_id": ["org_x"]}`, "org_id"),
		authed("current_password as bool", "auth.password.change", `{"current_password": false, "new_password": "x"}`, "current_password"),
		authed("unknown field in password.set", "auth.password.set", `{"password": "abcdefghij", "confirm": "abcdefghij"}`, "confirm"),
		authed("account.delete password as number", "auth.account.delete", `{"password": 5}`, "password"),
		authed("array to me", "auth.me", `[1, 2]`, ""),
		authed("unknown field to me", "auth.me", `{"verbose": true}`, "verbose"),
		authed("logout with a string body", "auth.logout", `"bye"`, ""),
		{name: "unknown field to a read op", op: "auth.providers", body: `{"x": 1}`, status: 400, field: "x"},
		{name: "Basic auth", op: "auth.me", header: http.Header{"Authorization": {"Basic YWRhOnB3"}}, status: 401},
		{name: "Bearer without token", op: "auth.me", header: http.Header{"Authorization": {"Bearer"}}, status: 401},
		{name: "Bearer with spaces", op: "auth.me", header: http.Header{"Authorization": {"Bearer a b c"}}, status: 401},
		{name: "huge bearer", op: "auth.me", header: http.Header{"Authorization": {"Bearer " + strings.Repeat("e", 6000)}}, status: 401},
		{name: "JWT-shaped junk", op: "auth.me", header: http.Header{"Authorization": {"Bearer eyJhbGciOiJFZERTQSJ9.e30." + strings.Repeat("A", 86)}}, status: 401},
		{name: "JWT with a bad kid", op: "auth.me", header: http.Header{"Authorization": {"Bearer eyJhbGciOiJFZERTQSIsImtpZCI6Ii4uLyJ9.e30." + strings.Repeat("A", 86)}}, status: 401},
		{name: "unknown API key", op: "auth.me", header: http.Header{"Authorization": {"Bearer sk_live_" + strings.Repeat("z", 40)}}, status: 401},
		{name: "garbage cookie", op: "auth.me", header: http.Header{"Cookie": {"latchkey_access=%%%; latchkey_access=x"}}, status: 401},
		{name: "refresh with a garbage cookie", op: "auth.refresh", header: http.Header{"Cookie": {"latchkey_refresh=" + strings.Repeat("r", 3000)}}, status: 401},
	}
}

// TestMalformedRequests: none of these is a 5xx; each is a 4xx with the
// envelope, naming the field when a field is at fault.
func TestMalformedRequests(t *testing.T) {
	cases := malformedRequests()
	if len(cases) < 30 {
		t.Fatalf("only %d malformed requests", len(cases))
	}
	each(t, latchkeytest.Options{}, func(t *testing.T, env *latchkeytest.Env, db latchkeytest.Database) {
		token := env.Client(t).Register("ada@example.com", pw).Str("access_token")
		for _, tc := range cases {
			c := env.Client(t)
			if tc.auth {
				c.Bearer = token
			}
			var body any
			if tc.body != "" {
				body = tc.body
			}
			r := c.Do(http.MethodPost, "/v1/"+tc.op, body, tc.header)
			if r.Status < 400 || r.Status >= 500 || (tc.status != 0 && r.Status != tc.status) {
				t.Errorf("%s: status %d %.200s, want %d", tc.name, r.Status, r.Body, tc.status)
				continue
			}
			checkEnvelope(t, tc.name, r)
			if r.Code() == "invalid_request" {
				if f, ok := field(r); !ok || (tc.field != "" && f != tc.field) {
					t.Errorf("%s: field %q (present %v), want %q: %.200s", tc.name, f, ok, tc.field, r.Body)
				}
			} else if tc.field != "" && tc.field != "password" {
				t.Errorf("%s: code %s, want invalid_request naming %s", tc.name, r.Code(), tc.field)
			}
		}
		wantTokenWorks(t, env, "the server after the barrage", token)
	})
}

// FuzzRequestBody throws arbitrary bodies at the JSON decoding path of a
// few operations through the real handler: never a 5xx, always the
// envelope on failure. `go test` runs the seeds; `go test -fuzz` explores.
func FuzzRequestBody(f *testing.F) {
	for _, tc := range malformedRequests() {
		f.Add(uint8(0), []byte(tc.body))
	}
	f.Add(uint8(1), []byte(`{"email": "fuzz@example.com", "password": "correct horse battery"}`))
	f.Add(uint8(2), []byte(`{"session_id": "ses_x"}`))
	env := latchkeytest.New(f, latchkeytest.Options{})
	token := env.Client(f).Register("ada@example.com", pw).Str("access_token")
	ops := []string{"auth.login", "auth.register", "auth.sessions.revoke", "auth.org.switch", "auth.password.change", "auth.refresh", "auth.me", "auth.login_or_register"}
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/v1/"+ops[int(which)%len(ops)], bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		env.Server.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("status %d for %q: %s", rec.Code, body, rec.Body)
		}
		if rec.Code >= 400 {
			var e struct {
				Error struct{ Code, Message, RequestID string } `json:"error"`
			}
			if json.Unmarshal(rec.Body.Bytes(), &e) != nil || e.Error.Code == "" || e.Error.Message == "" {
				t.Fatalf("no envelope: %s", rec.Body)
			}
		}
	})
}
