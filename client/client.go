// Package client is a typed Go client of Latchkey's JSON API. The
// latchkey CLI and the end-to-end tests speak to the server through it.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Client calls one Latchkey server. The zero value is not usable: create
// it with New.
type Client struct {
	// BaseURL is the server's public URL, without a trailing slash.
	BaseURL string
	// Token, when set, is sent as "Authorization: Bearer <Token>": a
	// session's access token or a secret API key.
	Token string
	// HTTP sends the requests; set a cookie jar on it for cookie sessions.
	HTTP *http.Client
	// UserAgent, when set, is sent with every request.
	UserAgent string
}

// New returns a client of the server at baseURL with a 30 s timeout.
func New(baseURL string) *Client {
	return &Client{BaseURL: strings.TrimRight(baseURL, "/"), HTTP: &http.Client{Timeout: 30 * time.Second}}
}

// WithToken returns a copy of c that authenticates with token.
func (c *Client) WithToken(token string) *Client {
	cp := *c
	cp.Token = token
	return &cp
}

// Error is the server's error envelope, with the HTTP status.
type Error struct {
	Status    int
	Code      string `json:"code"`
	Message   string `json:"message"`
	RequestID string `json:"request_id"`
	Field     string `json:"field"`
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s (%d, field %s): %s", e.Code, e.Status, e.Field, e.Message)
	}
	return fmt.Sprintf("%s (%d): %s", e.Code, e.Status, e.Message)
}

// Call POSTs in as JSON to /v1/op and decodes the answer into out (when
// not nil). A failure the server reports is an *Error.
func (c *Client) Call(ctx context.Context, op string, in, out any) error {
	if in == nil {
		in = struct{}{}
	}
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.BaseURL+"/v1/"+op, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	if c.UserAgent != "" {
		req.Header.Set("User-Agent", c.UserAgent)
	}
	res, err := c.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 4<<20))
	if err != nil {
		return err
	}
	if res.StatusCode != http.StatusOK {
		var env struct {
			Error *Error `json:"error"`
		}
		if json.Unmarshal(raw, &env) != nil || env.Error == nil || env.Error.Code == "" {
			return &Error{Status: res.StatusCode, Code: "http_error", Message: strings.TrimSpace(string(raw))}
		}
		env.Error.Status = res.StatusCode
		return env.Error
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("%s: decoding the response: %w", op, err)
	}
	return nil
}
