package latchkeytest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
)

// Client calls the server's API like a browser or SDK would, keeping
// cookies in a jar.
type Client struct {
	t    testing.TB
	Base string
	HTTP *http.Client
	// Bearer, when set, is sent as Authorization: Bearer.
	Bearer string
	// Header is added to every request.
	Header http.Header
}

// Client returns a new client with an empty cookie jar that does not
// follow redirects (tests look at the 302s).
func (e *Env) Client(t testing.TB) *Client {
	jar, _ := cookiejar.New(nil)
	return &Client{t: t, Base: e.URL, Header: http.Header{}, HTTP: &http.Client{
		Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}}
}

// Response is what a call returned.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
	JSON   map[string]any
}

// Code returns error.code of an error envelope, or "".
func (r *Response) Code() string {
	e, _ := r.JSON["error"].(map[string]any)
	code, _ := e["code"].(string)
	return code
}

// Str returns a top-level string field of the JSON body.
func (r *Response) Str(key string) string { s, _ := r.JSON[key].(string); return s }

// Obj returns a top-level object field of the JSON body.
func (r *Response) Obj(key string) map[string]any { m, _ := r.JSON[key].(map[string]any); return m }

// Call POSTs body (marshalled to JSON unless it is a string or []byte) to
// /v1/op with Content-Type: application/json.
func (c *Client) Call(op string, body any) *Response {
	c.t.Helper()
	return c.Do(http.MethodPost, "/v1/"+op, body, nil)
}

// Get GETs /v1/op.
func (c *Client) Get(op string) *Response {
	c.t.Helper()
	return c.Do(http.MethodGet, "/v1/"+op, nil, nil)
}

// Do sends any request; header may override Content-Type and the rest.
func (c *Client) Do(method, path string, body any, header http.Header) *Response {
	c.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, c.Base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.Bearer != "" {
		req.Header.Set("Authorization", "Bearer "+c.Bearer)
	}
	for k, v := range c.Header {
		req.Header[k] = v
	}
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := c.HTTP.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	out := &Response{Status: res.StatusCode, Header: res.Header}
	out.Body, _ = io.ReadAll(res.Body)
	_ = json.Unmarshal(out.Body, &out.JSON)
	return out
}

// Register creates an account through auth.register and fails the test
// unless it succeeds; the client's jar keeps the session cookies.
func (c *Client) Register(email, password string) *Response {
	c.t.Helper()
	r := c.Call("auth.register", map[string]any{"email": email, "password": password})
	if r.Status != http.StatusOK {
		c.t.Fatalf("register %s: %d %s", email, r.Status, r.Body)
	}
	return r
}

// Cookie returns the value of a cookie the server set on the last
// response, or "".
func (r *Response) Cookie(name string) *http.Cookie {
	for _, ck := range (&http.Response{Header: r.Header}).Cookies() {
		if ck.Name == name {
			return ck
		}
	}
	return nil
}
