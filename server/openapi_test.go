package server_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/latchkeytest"
	"github.com/latchkey/latchkey/server"
)

// openAPIDoc is the part of the document these tests read.
type openAPIDoc struct {
	Paths map[string]map[string]json.RawMessage `json:"paths"`
	Comps struct {
		Schemas map[string]struct {
			Required   []string                  `json:"required"`
			Properties map[string]map[string]any `json:"properties"`
		} `json:"schemas"`
		SecuritySchemes map[string]map[string]any `json:"securitySchemes"`
	} `json:"components"`
}

type openAPIOp struct {
	Security    []map[string][]string `json:"security"`
	RequestBody *struct {
		Required bool `json:"required"`
		Content  map[string]struct {
			Schema  map[string]string `json:"schema"`
			Example map[string]any    `json:"example"`
		} `json:"content"`
	} `json:"requestBody"`
	Responses map[string]struct {
		Content map[string]struct {
			Examples map[string]any `json:"examples"`
		} `json:"content"`
	} `json:"responses"`
}

func fetchOpenAPI(t *testing.T, env *latchkeytest.Env) (openAPIDoc, []byte) {
	t.Helper()
	r := env.Client(t).Do(http.MethodGet, "/v1/openapi.json", nil, nil)
	var doc openAPIDoc
	if err := json.Unmarshal(r.Body, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	return doc, r.Body
}

func (d openAPIDoc) op(t *testing.T, name, method string) openAPIOp {
	t.Helper()
	var op openAPIOp
	raw, ok := d.Paths["/v1/"+name][method]
	if !ok {
		t.Fatalf("no %s %s in the document", method, name)
	}
	if err := json.Unmarshal(raw, &op); err != nil {
		t.Fatal(err)
	}
	return op
}

// schemes lists an operation's security alternatives as "a+b" strings,
// "" for anonymous.
func (o openAPIOp) schemes() []string {
	var out []string
	for _, alt := range o.Security {
		var names []string
		for n := range alt {
			names = append(names, n)
		}
		slices.Sort(names)
		out = append(out, strings.Join(names, "+"))
	}
	slices.Sort(out)
	return out
}

// TestOpenAPISecurity: each operation declares the credentials the
// contract gives it, each kind of credential its own scheme.
func TestOpenAPISecurity(t *testing.T) {
	env := latchkeytest.New(t, latchkeytest.Options{})
	doc, _ := fetchOpenAPI(t, env)
	for _, s := range []string{"sessionToken", "apiKey", "accessCookie", "refreshCookie", "adminKey"} {
		if doc.Comps.SecuritySchemes[s] == nil {
			t.Errorf("no security scheme %s", s)
		}
	}
	if f := doc.Comps.SecuritySchemes["apiKey"]["bearerFormat"]; !strings.HasPrefix(f.(string), "sk_live_") {
		t.Errorf("apiKey bearerFormat %v", f)
	}
	tests := []struct {
		op, method string
		want       []string
	}{
		{"auth.refresh", "post", []string{"refreshCookie"}},
		{"auth.logout", "post", []string{"accessCookie", "sessionToken"}},
		{"auth.dashboard_token.create", "post", []string{"apiKey"}},
		{"auth.me", "get", []string{"accessCookie", "apiKey", "sessionToken"}},
		{"org.members.list", "post", []string{"accessCookie", "apiKey", "sessionToken"}},
		{"auth.password.change", "post", []string{"accessCookie", "sessionToken"}},
		{"auth.complete_invitation", "post", []string{"", "accessCookie", "sessionToken"}},
		{"auth.passkey.register.begin", "post", []string{"", "accessCookie", "sessionToken"}},
		{"auth.login", "post", nil},
		{"auth.dashboard_token.exchange", "get", nil},
	}
	for _, tt := range tests {
		op := doc.op(t, tt.op, tt.method)
		if got := op.schemes(); !slices.Equal(got, tt.want) {
			t.Errorf("%s security %q, want %q", tt.op, got, tt.want)
		}
		if op.Security == nil {
			t.Errorf("%s has no security list (anonymous must say so with [])", tt.op)
		}
	}
}

// TestOpenAPIRequests: bodies that carry required fields are required,
// with the fields listed, enums where the contract has them, and an
// example.
func TestOpenAPIRequests(t *testing.T) {
	env := latchkeytest.New(t, latchkeytest.Options{})
	doc, _ := fetchOpenAPI(t, env)
	tests := []struct {
		op       string
		required bool
		fields   []string
	}{
		{"auth.register", true, []string{"email", "password"}},
		{"auth.login", true, []string{"email", "password"}},
		{"org.members.update_role", true, []string{"user_id", "role"}},
		{"org.api_keys.create", true, []string{"name", "scopes"}},
		{"auth.account.delete", false, nil},
		{"auth.dashboard_token.create", false, nil},
	}
	for _, tt := range tests {
		op := doc.op(t, tt.op, "post")
		if op.RequestBody == nil {
			t.Fatalf("%s has no request body", tt.op)
		}
		if op.RequestBody.Required != tt.required {
			t.Errorf("%s requestBody.required %v, want %v", tt.op, op.RequestBody.Required, tt.required)
		}
		media := op.RequestBody.Content["application/json"]
		if len(media.Example) == 0 && tt.required {
			t.Errorf("%s has no example", tt.op)
		}
		ref := strings.TrimPrefix(media.Schema["$ref"], "#/components/schemas/")
		if got := doc.Comps.Schemas[ref].Required; !slices.Equal(got, tt.fields) {
			t.Errorf("%s required %v, want %v", tt.op, got, tt.fields)
		}
	}
	if op := doc.op(t, "auth.refresh", "post"); op.RequestBody != nil {
		t.Error("auth.refresh documents a body it never reads")
	}
	role := doc.Comps.Schemas["updateRoleRequest"].Properties["role"]
	if !slices.Equal(anyStrings(role["enum"]), []string{"owner", "admin", "member"}) {
		t.Errorf("role enum %v", role)
	}
	scopes := doc.Comps.Schemas["apiKeyCreateRequest"].Properties["scopes"]["items"].(map[string]any)
	if !slices.Equal(anyStrings(scopes["enum"]), []string{"api:read", "api:write", "org:admin"}) {
		t.Errorf("scopes enum %v", scopes)
	}
	if cred := doc.Comps.Schemas["meJSON"].Properties["credential"]; !slices.Equal(anyStrings(cred["enum"]), []string{"session", "api_key"}) {
		t.Errorf("credential enum %v", cred)
	}
	if cred := doc.Comps.Schemas["passkeyLoginFinishRequest"].Properties["credential"]; cred["enum"] != nil {
		t.Errorf("the WebAuthn credential object got a string enum: %v", cred)
	}
}

func anyStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

// TestOpenAPIErrorsAreDocumented calls every operation anonymously, with a
// session and with an API key, with an unknown field, and checks that the
// status and code each answer has are among the operation's documented
// responses: the derived defaults hold against the real server.
func TestOpenAPIErrorsAreDocumented(t *testing.T) {
	env := latchkeytest.New(t, latchkeytest.Options{})
	doc, _ := fetchOpenAPI(t, env)
	anon := env.Client(t)
	sess := env.Client(t)
	sess.Register("doc@example.com", "correct horse battery")
	bearer := env.Client(t)
	bearer.Bearer = sess.Call("auth.login", map[string]any{"email": "doc@example.com", "password": "correct horse battery"}).Str("access_token")
	r := sess.Call("org.api_keys.create", map[string]any{"name": "k", "scopes": []string{"api:read"}})
	key := env.Client(t)
	key.Bearer = r.Str("secret")
	clients := map[string]*latchkeytest.Client{"anonymous": anon, "cookie": sess, "bearer": bearer, "api key": key}
	checked := 0
	for path, item := range doc.Paths {
		name := strings.TrimPrefix(path, "/v1/")
		for method := range item {
			if method != "post" && method != "get" || name == "auth.dashboard_token.exchange" {
				continue
			}
			op := doc.op(t, name, method)
			for who, c := range clients {
				var res *latchkeytest.Response
				if method == "post" {
					res = c.Call(name, `{"zz_unknown_field":1}`)
				} else {
					res = c.Get(name)
				}
				if res.Status == http.StatusOK {
					continue
				}
				checked++
				resp, ok := op.Responses[strconv.Itoa(res.Status)]
				if !ok {
					t.Errorf("%s %s as %s: %d %s is not documented", method, name, who, res.Status, res.Code())
					continue
				}
				if _, ok := resp.Content["application/json"].Examples[res.Code()]; !ok {
					t.Errorf("%s %s as %s: %d lacks code %s", method, name, who, res.Status, res.Code())
				}
			}
		}
	}
	if checked < 100 {
		t.Errorf("only %d error answers checked", checked)
	}
}

// TestOpenAPICommandMatchesServer: what `latchkey openapi` prints (what CI
// lints and generators read) is the document a running server serves.
func TestOpenAPICommandMatchesServer(t *testing.T) {
	env := latchkeytest.New(t, latchkeytest.Options{})
	_, served := fetchOpenAPI(t, env)
	printed, err := server.OpenAPI(env.URL)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(bytes.TrimSpace(served), bytes.TrimSpace(printed)) {
		t.Error("server.OpenAPI differs from /v1/openapi.json")
	}
}
