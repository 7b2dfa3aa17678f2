package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/latchkey/latchkey"
)

// maxBody is the largest request body the API reads (contract §1).
const maxBody = 64 << 10

// auth says which credential an operation needs.
type auth int

const (
	authNone     auth = iota // "-": anonymous; credentials are ignored
	authOptional             // "- or S": a session when present
	authSession              // "S"
	authKey                  // "K"
	authAny                  // "S or K"
	authAdmin                // "A": an admin key or an aal2 operator session (api_admin.go)
)

// operation is one RPC of the contract.
type operation struct {
	Name    string
	Read    bool // answers GET as well as POST
	Auth    auth
	Summary string
	// csrf forces the cookie CSRF rule for operations authenticated by a
	// cookie other than the access cookie (auth.refresh).
	csrf bool
	// ignoreBody is set for operations that must not read the body at all.
	ignoreBody bool
	reqType    reflect.Type
	resType    reflect.Type
	serve      func(c *call, body []byte) (any, error)
	// browser, when set, serves a GET-only operation that a browser
	// navigates to and that answers with redirects instead of JSON.
	browser http.HandlerFunc
}

// call is one request being served.
type call struct {
	ctx  context.Context
	w    http.ResponseWriter
	r    *http.Request
	auth *latchkey.AuthContext // nil when anonymous
	// cookie is set when auth came from the access cookie (a browser).
	cookie bool
	meta   latchkey.Meta
	s      *Server
}

// rpc declares an operation whose handler takes a decoded Req and returns a
// Res to encode; the types also feed the OpenAPI document.
func rpc[Req, Res any](name string, a auth, summary string, h func(c *call, req Req) (Res, error)) operation {
	return operation{
		Name: name, Auth: a, Summary: summary,
		reqType: reflect.TypeFor[Req](), resType: reflect.TypeFor[Res](),
		ignoreBody: reflect.TypeFor[Req]() == reflect.TypeFor[ignored](),
		serve: func(c *call, body []byte) (any, error) {
			var req Req
			if err := decodeStrict(body, &req); err != nil && body != nil {
				return nil, err
			}
			return h(c, req)
		},
	}
}

// browserOp declares a GET-only operation answered by h with redirects
// (auth.dashboard_token.exchange): it lives under /v1/ like every
// operation but is browser navigation, so it has no JSON body.
func browserOp(name, summary string, h http.HandlerFunc) operation {
	return operation{Name: name, Auth: authNone, Read: true, Summary: summary, browser: h,
		reqType: reflect.TypeFor[empty](), resType: reflect.TypeFor[empty](), ignoreBody: true}
}

// read marks an operation as read-only: it answers GET too.
func (o operation) read() operation { o.Read = true; return o }

// empty is a request or response without fields.
type empty struct{}

// decodeStrict decodes a JSON object into v, rejecting unknown fields,
// wrong types and trailing data with invalid_request naming the field.
// An empty body is an empty object.
func decodeStrict(body []byte, v any) error {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil
	}
	if body[0] != '{' {
		return latchkey.Invalid("", "The request body must be a JSON object.")
	}
	// encoding/json would silently turn invalid bytes into U+FFFD, so a
	// password could be stored as something the client never sent.
	if !utf8.Valid(body) {
		return latchkey.Invalid("", "The request body is not valid UTF-8.")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return latchkey.Invalid("", "The request body has data after the JSON object.")
	}
	if field, ok := nulField(reflect.ValueOf(v), ""); ok {
		return latchkey.Invalid(field, "Field %q must not contain NUL characters.", field)
	}
	return checkKeys(body, reflect.TypeOf(v).Elem())
}

// checkKeys rejects top-level keys that match a field only by ignoring
// case ("Email" for "email"), which encoding/json accepts silently.
func checkKeys(body []byte, t reflect.Type) error {
	names := fieldNames(t)
	dec := json.NewDecoder(bytes.NewReader(body))
	if _, err := dec.Token(); err != nil { // the opening brace
		return latchkey.Invalid("", "The request body is not valid JSON.")
	}
	for dec.More() {
		tok, err := dec.Token()
		key, ok := tok.(string)
		if err != nil || !ok {
			return latchkey.Invalid("", "The request body is not valid JSON.")
		}
		if !names[key] {
			return latchkey.Invalid(key, "Unknown field %q.", key)
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return latchkey.Invalid(key, "The request body is not valid JSON.")
		}
	}
	return nil
}

// nulField finds a string holding a NUL character (JSON "\u0000") and
// returns its JSON field name. PostgreSQL refuses NUL in text, so such a
// value would otherwise fail deep in a flow as a 500; no field of the
// contract has a use for it.
func nulField(v reflect.Value, name string) (string, bool) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return "", false
		}
		return nulField(v.Elem(), name)
	case reflect.String:
		return name, strings.IndexByte(v.String(), 0) >= 0
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return "", false // json.RawMessage: decoded, and checked, by its flow
		}
		for i := range v.Len() {
			if f, ok := nulField(v.Index(i), name); ok {
				return f, true
			}
		}
	case reflect.Map:
		for it := v.MapRange(); it.Next(); {
			if strings.IndexByte(it.Key().String(), 0) >= 0 {
				return name, true
			}
			if f, ok := nulField(it.Value(), name); ok {
				return f, true
			}
		}
	case reflect.Struct:
		for i := range v.NumField() {
			sf := v.Type().Field(i)
			if !sf.IsExported() {
				continue
			}
			field, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
			if field == "" {
				field = sf.Name
			}
			if sf.Anonymous {
				field = name
			}
			if f, ok := nulField(v.Field(i), field); ok {
				return f, true
			}
		}
	}
	return "", false
}

var fieldNameCache sync.Map // reflect.Type → map[string]bool

// fieldNames returns the JSON names of a struct type's fields.
func fieldNames(t reflect.Type) map[string]bool {
	if m, ok := fieldNameCache.Load(t); ok {
		return m.(map[string]bool)
	}
	names := map[string]bool{}
	if t.Kind() == reflect.Struct {
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			switch {
			case f.Anonymous && name == "":
				for n := range fieldNames(f.Type) {
					names[n] = true
				}
			case name == "-" || !f.IsExported():
			case name == "":
				names[f.Name] = true
			default:
				names[name] = true
			}
		}
	}
	fieldNameCache.Store(t, names)
	return names
}

func decodeError(err error) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		field := typeErr.Field
		return latchkey.Invalid(field, "Field %q must be of type %s.", field, jsonTypeName(typeErr.Type))
	case errors.As(err, &syntaxErr), errors.Is(err, io.ErrUnexpectedEOF):
		return latchkey.Invalid("", "The request body is not valid JSON.")
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name = strings.Trim(name, `"`)
		return latchkey.Invalid(name, "Unknown field %q.", name)
	}
	return latchkey.Invalid("", "The request body is not valid JSON.")
}

func jsonTypeName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Map, reflect.Struct:
		return "object"
	case reflect.Pointer:
		return jsonTypeName(t.Elem())
	}
	return "number"
}

// statuses maps every error code to its HTTP status, once.
var statuses = map[string]int{
	latchkey.CodeInvalidRequest:        http.StatusBadRequest,
	latchkey.CodeWeakPassword:          http.StatusBadRequest,
	latchkey.CodePasswordUnchanged:     http.StatusBadRequest,
	latchkey.CodeInvalidCode:           http.StatusBadRequest,
	latchkey.CodeCodeExpired:           http.StatusBadRequest,
	latchkey.CodeInvalidChallenge:      http.StatusBadRequest,
	latchkey.CodeInvalidCallback:       http.StatusBadRequest,
	latchkey.CodeUnauthenticated:       http.StatusUnauthorized,
	latchkey.CodeInvalidToken:          http.StatusUnauthorized,
	latchkey.CodeInvalidCredentials:    http.StatusUnauthorized,
	latchkey.CodeOAuthOnlyAccount:      http.StatusUnauthorized,
	latchkey.CodePasswordNotSet:        http.StatusUnauthorized,
	latchkey.CodeWrongCredentialKind:   http.StatusForbidden,
	latchkey.CodeInsufficientScope:     http.StatusForbidden,
	latchkey.CodeForbidden:             http.StatusForbidden,
	latchkey.CodeSSORequired:           http.StatusForbidden,
	latchkey.CodeReauthRequired:        http.StatusForbidden,
	latchkey.CodeCSRFRejected:          http.StatusForbidden,
	latchkey.CodeInvitationMismatch:    http.StatusForbidden,
	latchkey.CodeNotFound:              http.StatusNotFound,
	latchkey.CodeNotLinked:             http.StatusNotFound,
	latchkey.CodeEmailTaken:            http.StatusConflict,
	latchkey.CodePasswordAlreadySet:    http.StatusConflict,
	latchkey.CodeOrgHasOtherMembers:    http.StatusConflict,
	latchkey.CodeEmailAlreadyVerified:  http.StatusConflict,
	latchkey.CodeLastAuthMethod:        http.StatusConflict,
	latchkey.CodeLastOwner:             http.StatusConflict,
	latchkey.CodeAlreadyMember:         http.StatusConflict,
	latchkey.CodeDomainTaken:           http.StatusConflict,
	latchkey.CodeAlreadyLinked:         http.StatusConflict,
	latchkey.CodeRateLimited:           http.StatusTooManyRequests,
	latchkey.CodeMFARequired:           http.StatusForbidden,
	latchkey.CodeMFAStepUpRequired:     http.StatusForbidden,
	latchkey.CodeMFAEnrollmentRequired: http.StatusForbidden,
	latchkey.CodeAccountDisabled:       http.StatusForbidden,
	latchkey.CodeOrgRequiresMFA:        http.StatusConflict,
	latchkey.CodeDomainUnverified:      http.StatusBadRequest,
	codeMethodNotAllowed:               http.StatusMethodNotAllowed,
	codeTooLarge:                       http.StatusRequestEntityTooLarge,
	latchkey.CodeInternal:              http.StatusInternalServerError,
}

// Transport-level codes.
const (
	codeMethodNotAllowed = "method_not_allowed"
	codeTooLarge         = "request_too_large"
)

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code      string   `json:"code"`
	Message   string   `json:"message"`
	RequestID string   `json:"request_id"`
	Field     *string  `json:"field,omitempty"`
	Providers []string `json:"providers,omitempty"`
	// MFAToken and Factors come with mfa_required at sign-in (§7).
	MFAToken string               `json:"mfa_token,omitempty"`
	Factors  []latchkey.FactorRef `json:"factors,omitempty"`
}

// writeError writes the error envelope. An error that is not a
// *latchkey.Error is logged with the request id and becomes a generic
// 500 internal, so nothing leaks.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var e *latchkey.Error
	if !errors.As(err, &e) || statuses[e.Code] == 0 {
		s.log.ErrorContext(r.Context(), "internal error", "err", err)
		e = latchkey.Errorf(latchkey.CodeInternal, "Something went wrong on our side. Try again.")
	}
	status := statuses[e.Code]
	var se statusError
	if errors.As(err, &se) {
		status = se.status
	}
	d := errorDetail{Code: e.Code, Message: e.Message, RequestID: requestID(r), Providers: e.Providers, MFAToken: e.MFAToken, Factors: e.Factors}
	if e.Code == latchkey.CodeInvalidRequest || e.Field != "" {
		f := e.Field
		d.Field = &f
	}
	if e.Code == latchkey.CodeOAuthOnlyAccount && d.Providers == nil {
		d.Providers = []string{}
	}
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", fmt.Sprint(int(e.RetryAfter.Seconds()+0.999)))
	}
	writeJSON(w, status, errorBody{d})
}

// statusError gives one operation's error another status than the table's.
// The contract answers a bad one-time token with 400 invalid_token on the
// operations that redeem one (auth.oauth.transfer.confirm, password reset,
// invitations), while invalid_token on a credential is 401.
type statusError struct {
	err    error
	status int
}

func (e statusError) Error() string { return e.err.Error() }
func (e statusError) Unwrap() error { return e.err }

// tokenError400 makes an invalid_token error of a token-redeeming
// operation a 400; other errors pass through.
func tokenError400(err error) error {
	if latchkey.ErrorCode(err) == latchkey.CodeInvalidToken {
		return statusError{err: err, status: http.StatusBadRequest}
	}
	return err
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":{"code":"internal","message":"The response could not be encoded."}}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
