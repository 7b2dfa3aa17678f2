package server

import (
	"encoding/json"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/latchkey/latchkey"
)

var errNoRoute = latchkey.Errorf(latchkey.CodeNotFound, "There is nothing at this path.")

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

// buildOpenAPI describes every registered operation as OpenAPI 3.1, from
// the Go types of its request and response, so the document cannot fall
// behind the routes.
func (s *Server) buildOpenAPI() ([]byte, error) { return openAPIDocument(s.list, s.cfg.PublicURL) }

// OpenAPI returns the document a server at publicURL publishes at
// /v1/openapi.json, without a database (`latchkey openapi` prints it).
func OpenAPI(publicURL string) ([]byte, error) {
	s := &Server{cfg: Config{PublicURL: publicURL}}
	return openAPIDocument(s.operations(), publicURL)
}

// Security scheme names of the document.
const (
	schemeSession = "sessionToken"
	schemeAPIKey  = "apiKey"
	schemeCookie  = "accessCookie"
	schemeRefresh = "refreshCookie"
	schemeAdmin   = "adminKey"
)

func openAPIDocument(ops []operation, publicURL string) ([]byte, error) {
	g := &schemaGen{defs: map[string]any{}}
	paths := map[string]any{}
	var tags []string
	for _, op := range ops {
		if tag := opTag(op.Name); !slices.Contains(tags, tag) {
			tags = append(tags, tag)
		}
		if op.browser != nil {
			paths["/v1/"+op.Name] = browserPath(op)
			continue
		}
		item := map[string]any{"post": g.operation(op, http.MethodPost)}
		if op.Read {
			item["get"] = g.operation(op, http.MethodGet)
		}
		paths["/v1/"+op.Name] = item
	}
	g.errorSchema()
	var tagList []any
	for _, t := range tags {
		d := tagDescriptions[t]
		if d == "" {
			d = "Operations named " + t + ".*."
		}
		tagList = append(tagList, map[string]any{"name": t, "description": d})
	}
	doc := map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{"title": "Latchkey API", "version": "1",
			"description": "Every operation is an RPC at /v1/<name> with a JSON body. Errors are " +
				"`{\"error\": {\"code\", \"message\", \"request_id\"}}`; every response carries X-Request-Id."},
		"servers": []any{map[string]any{"url": publicURL}},
		"tags":    tagList,
		"paths":   paths,
		"components": map[string]any{
			"schemas":         g.defs,
			"headers":         map[string]any{"RequestId": map[string]any{"description": "The request's id, also in error.request_id.", "schema": map[string]any{"type": "string"}}, "RetryAfter": map[string]any{"description": "Seconds to wait before trying again.", "schema": map[string]any{"type": "integer"}}},
			"securitySchemes": securitySchemes(),
		},
	}
	return json.MarshalIndent(doc, "", "  ")
}

func opTag(name string) string { return strings.SplitN(name, ".", 2)[0] }

func securitySchemes() map[string]any {
	return map[string]any{
		schemeSession: map[string]any{"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
			"description": "A session's access token (EdDSA JWT, verifiable offline with /.well-known/jwks.json)."},
		schemeAPIKey: map[string]any{"type": "http", "scheme": "bearer", "bearerFormat": "sk_live_…",
			"description": "A secret API key of an organization, `Authorization: Bearer sk_live_…`."},
		schemeCookie: map[string]any{"type": "apiKey", "in": "cookie", "name": accessCookie,
			"description": "A browser session. State-changing calls must send Content-Type: application/json and an allowed Origin (CSRF)."},
		schemeRefresh: map[string]any{"type": "apiKey", "in": "cookie", "name": refreshCookie,
			"description": "The refresh token, HttpOnly, SameSite=Strict, sent by browsers only to /v1/auth.refresh."},
		schemeAdmin: map[string]any{"type": "http", "scheme": "bearer", "bearerFormat": "sk_admin_…",
			"description": "An operator's admin key, created with `latchkey admin keys create`."},
	}
}

func schemes(names ...string) map[string]any {
	m := map[string]any{}
	for _, n := range names {
		m[n] = []string{}
	}
	return m
}

// security lists the operation's alternatives (OR); {} is anonymous.
func security(op operation) []any {
	switch opDocs[op.Name].security {
	case secRefresh:
		return []any{schemes(schemeRefresh)}
	case secSession:
		return []any{schemes(schemeSession), schemes(schemeCookie)}
	}
	switch op.Auth {
	case authNone:
		return []any{} // explicitly anonymous
	case authOptional:
		return []any{map[string]any{}, schemes(schemeSession), schemes(schemeCookie)}
	case authSession:
		return []any{schemes(schemeSession), schemes(schemeCookie)}
	case authKey:
		return []any{schemes(schemeAPIKey)}
	case authAny:
		return []any{schemes(schemeSession), schemes(schemeAPIKey), schemes(schemeCookie)}
	case authAdmin:
		// §8: an admin key, or an aal2 operator's session.
		return []any{schemes(schemeAdmin), schemes(schemeSession), schemes(schemeCookie)}
	}
	return []any{schemes(schemeSession), schemes(schemeAPIKey), schemes(schemeCookie)}
}

func (g *schemaGen) operation(op operation, method string) map[string]any {
	summary := op.Summary
	if summary == "" {
		summary = op.Name
	}
	id := op.Name
	if method == http.MethodGet {
		id += ".get"
	}
	out := map[string]any{
		"operationId": id, "summary": summary, "tags": []string{opTag(op.Name)},
		"security": security(op),
		// A path has only the methods it answers; the others get 405, which
		// no declared operation can receive, so it is said here.
		"description": "Answers POST only; any other method gets 405 `method_not_allowed` with `Allow: POST`.",
	}
	if op.Read {
		out["description"] = "Read-only: answers GET and POST alike; any other method gets 405 `method_not_allowed` with `Allow: GET, POST`."
	}
	fields := goFields(op.reqType)
	if method == http.MethodPost && !op.ignoreBody && len(fields) > 0 {
		required := slices.ContainsFunc(fields, func(f goField) bool { return f.required })
		ex := opDocs[op.Name].example
		if ex == nil {
			ex = exampleObject(op.reqType)
		}
		out["requestBody"] = map[string]any{"required": required, "content": map[string]any{
			"application/json": map[string]any{"schema": g.schema(op.reqType), "example": ex}}}
	}
	responses := map[string]any{
		"200": map[string]any{"description": "Success", "headers": requestIDHeader(),
			"content": jsonContent(g.schema(op.resType))},
		"default": errorResponse("Unexpected failure: 500 `internal` (details only in the server log).", []string{latchkey.CodeInternal}),
	}
	byStatus := map[int][]string{}
	for _, c := range errorCodes(op, method) {
		code, status := splitCode(c)
		if !slices.Contains(byStatus[status], code) {
			byStatus[status] = append(byStatus[status], code)
		}
	}
	for status, codes := range byStatus {
		responses[strconv.Itoa(status)] = errorResponse(http.StatusText(status)+": "+listCodes(codes)+".", codes)
	}
	out["responses"] = responses
	return out
}

// splitCode resolves "code" or "code@status" to the code and its status.
func splitCode(c string) (string, int) {
	code, st, ok := strings.Cut(c, "@")
	if ok {
		n, _ := strconv.Atoi(st)
		return code, n
	}
	return code, statuses[code]
}

// errorCodes derives the codes an operation can answer from its method,
// body and credentials (contract §1, §2, §7), then adds its own.
func errorCodes(op operation, method string) []string {
	var codes []string
	sec := map[string]bool{}
	anonymous := false
	for _, alt := range security(op) {
		m := alt.(map[string]any)
		if len(m) == 0 {
			anonymous = true
		}
		for k := range m {
			sec[k] = true
		}
	}
	if method == http.MethodPost {
		codes = append(codes, latchkey.CodeCSRFRejected) // a foreign Origin
		if !op.ignoreBody {
			codes = append(codes, latchkey.CodeInvalidRequest, codeTooLarge)
		}
	}
	if len(sec) > 0 {
		codes = append(codes, latchkey.CodeInvalidToken)
		if !anonymous && !sec[schemeRefresh] {
			codes = append(codes, latchkey.CodeUnauthenticated)
		}
	}
	session := sec[schemeSession] || sec[schemeCookie]
	switch {
	case sec[schemeAdmin]:
		codes = append(codes, latchkey.CodeForbidden, latchkey.CodeMFARequired)
	case session != sec[schemeAPIKey]:
		codes = append(codes, latchkey.CodeWrongCredentialKind)
	}
	if session && !sec[schemeAdmin] && !latchkey.MFAPolicyExempt(op.Name) {
		codes = append(codes, latchkey.CodeMFAEnrollmentRequired, latchkey.CodeMFARequired)
	}
	for _, c := range opDocs[op.Name].errors {
		if code, _ := splitCode(c); method == http.MethodGet && code == latchkey.CodeInvalidRequest {
			continue
		}
		codes = append(codes, c)
	}
	return codes
}

func listCodes(codes []string) string {
	q := make([]string, len(codes))
	for i, c := range codes {
		q[i] = "`" + c + "`"
	}
	return strings.Join(q, ", ")
}

func requestIDHeader() map[string]any {
	return map[string]any{"X-Request-Id": map[string]any{"$ref": "#/components/headers/RequestId"}}
}

// errorResponse is the error envelope with one example per code.
func errorResponse(desc string, codes []string) map[string]any {
	examples := map[string]any{}
	headers := requestIDHeader()
	for _, c := range codes {
		examples[c] = map[string]any{"summary": c, "value": errorExample(c)}
		if c == latchkey.CodeRateLimited {
			headers["Retry-After"] = map[string]any{"$ref": "#/components/headers/RetryAfter"}
		}
	}
	return map[string]any{"description": desc, "headers": headers, "content": map[string]any{
		"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Error"}, "examples": examples}}}
}

func errorExample(code string) map[string]any {
	msg := strings.ToUpper(code[:1]) + strings.ReplaceAll(code[1:], "_", " ") + "."
	e := map[string]any{"code": code, "message": msg, "request_id": "req_01HZX3K5Q8"}
	switch code {
	case latchkey.CodeInvalidRequest:
		e["field"], e["message"] = "email", "Field \"email\" is required."
	case latchkey.CodeOAuthOnlyAccount:
		e["providers"] = []string{"github"}
	case latchkey.CodeMFARequired:
		e["mfa_token"] = "mfa_3q8Zk1"
		e["factors"] = []any{map[string]any{"id": "fac_1a2b", "type": "totp"}, map[string]any{"id": "recovery_code", "type": "recovery_code"}}
	}
	return map[string]any{"error": e}
}

// errorSchema adds Error and ErrorDetail from the envelope's Go types,
// with every code the server knows as the code's enum, and the §7 fields
// of mfa_required when the envelope type does not carry them yet.
func (g *schemaGen) errorSchema() {
	detail := g.object(reflect.TypeFor[errorDetail]())
	props := detail["properties"].(map[string]any)
	codes := make([]string, 0, len(statuses))
	for c := range statuses {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	props["code"] = map[string]any{"type": "string", "enum": codes}
	if _, ok := props["mfa_token"]; !ok {
		props["mfa_token"] = map[string]any{"type": "string", "description": "With mfa_required: the single-use token for auth.mfa.verify."}
	}
	if _, ok := props["factors"]; !ok {
		props["factors"] = map[string]any{"type": "array", "items": map[string]any{
			"type": "object", "required": []string{"id", "type"}, "additionalProperties": false,
			"properties": map[string]any{"id": map[string]any{"type": "string"},
				"type": map[string]any{"type": "string", "enum": []string{"totp", "passkey", "recovery_code"}}}}}
	}
	g.defs["ErrorDetail"] = detail
	g.defs["Error"] = map[string]any{"type": "object", "required": []string{"error"}, "additionalProperties": false,
		"properties": map[string]any{"error": map[string]any{"$ref": "#/components/schemas/ErrorDetail"}}}
}

// browserPath describes a GET-only browser operation that answers 302.
func browserPath(op operation) map[string]any {
	return map[string]any{"get": map[string]any{
		"operationId": op.Name,
		"summary":     op.Summary,
		"tags":        []string{opTag(op.Name)},
		"security":    []any{},
		"parameters": []any{map[string]any{
			"name": "token", "in": "query", "required": true, "schema": map[string]any{"type": "string"},
		}},
		"responses": map[string]any{"302": map[string]any{
			"description": "Redirect; sets the session cookies when the token is valid",
			"headers":     map[string]any{"Location": map[string]any{"schema": map[string]any{"type": "string"}}},
		}},
	}}
}

func jsonContent(schema any) map[string]any {
	return map[string]any{"application/json": map[string]any{"schema": schema}}
}
