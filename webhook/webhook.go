// Package webhook delivers Latchkey's events to operators' endpoints
// (contract §9), as package mail sends its emails: the domain records
// events in its outbox and this package claims what is due, signs it the
// Standard Webhooks way, POSTs it and reports the outcome back.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// SecretPrefix starts every signing secret, as Standard Webhooks names it.
const SecretPrefix = "whsec_"

// Timeout bounds one attempt, connection to last byte of the answer.
const Timeout = 10 * time.Second

// NewSecret returns a fresh signing secret: whsec_ and the base64 of 32
// random bytes, the form the official libraries take unchanged.
func NewSecret() string {
	b := make([]byte, 32)
	rand.Read(b)
	return SecretPrefix + base64.StdEncoding.EncodeToString(b)
}

// Sign returns the webhook-signature header for one attempt: "v1,<base64
// HMAC-SHA256 of id.timestamp.body>" per secret, space-separated, so a
// receiver holding either secret of a rotation verifies it.
func Sign(secrets []string, id string, at time.Time, body []byte) (string, error) {
	if len(secrets) == 0 {
		return "", errors.New("webhook: no signing secret")
	}
	sigs := make([]string, 0, len(secrets))
	for _, s := range secrets {
		key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, SecretPrefix))
		if err != nil || len(key) == 0 {
			return "", errors.New("webhook: malformed signing secret")
		}
		h := hmac.New(sha256.New, key)
		fmt.Fprintf(h, "%s.%d.", id, at.Unix())
		h.Write(body)
		sigs = append(sigs, "v1,"+base64.StdEncoding.EncodeToString(h.Sum(nil)))
	}
	return strings.Join(sigs, " "), nil
}

// Message is one attempt to deliver one event to one endpoint.
type Message struct {
	Delivery string   // the queue's handle for the delivery row
	Claim    string   // proof that this worker holds the row
	EventID  string   // webhook-id: the same on every attempt
	Type     string   // the event type, for logs and metrics
	URL      string   // the endpoint
	Secrets  []string // live whsec_ secrets, newest first
	Body     []byte   // the exact JSON body
	Attempt  int      // 1 for the first attempt
	Created  time.Time
}

// Result is the outcome of an attempt.
type Result struct {
	Delivered bool   // a 2xx answer
	Status    int    // the HTTP status, 0 when there was none
	Error     string // why it failed, for operators; "" when delivered
	Duration  time.Duration
}

// Send makes one attempt. It never follows redirects: a 3xx is a failure
// the operator should see, not a hop to wherever the endpoint points.
func Send(ctx context.Context, client *http.Client, m Message, now time.Time) Result {
	start := time.Now()
	r := send(ctx, client, m, now)
	r.Duration = time.Since(start)
	return r
}

func send(ctx context.Context, client *http.Client, m Message, now time.Time) Result {
	sig, err := Sign(m.Secrets, m.EventID, now, m.Body)
	if err != nil {
		return Result{Error: err.Error()}
	}
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.URL, bytes.NewReader(m.Body))
	if err != nil {
		return Result{Error: "invalid endpoint URL"}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Latchkey-Webhooks/1")
	req.Header.Set("webhook-id", m.EventID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
	req.Header.Set("webhook-signature", sig)
	resp, err := client.Do(req)
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return Result{Error: "timed out after " + Timeout.String()}
		}
		return Result{Error: describe(err)}
	}
	defer resp.Body.Close()
	// Read a little of the answer so the connection can be reused; the
	// body itself is not kept.
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return Result{Delivered: true, Status: resp.StatusCode}
	}
	return Result{Status: resp.StatusCode, Error: "HTTP " + strconv.Itoa(resp.StatusCode)}
}

// describe shortens a transport error for the deliveries list.
func describe(err error) string {
	msg := err.Error()
	if len(msg) > 300 {
		msg = msg[:300]
	}
	return msg
}

// NewClient returns the HTTP client deliveries use: no redirects, the
// attempt timeout, and no cookies. Operators' endpoints may be on private
// networks (§9: operators are trusted), so no address is refused.
func NewClient() *http.Client {
	return &http.Client{
		Timeout: Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}
