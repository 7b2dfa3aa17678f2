package latchkeytest

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// Receiver is a webhook endpoint on 127.0.0.1 that checks every request
// with the official Standard Webhooks library, not with Latchkey's own
// signing code, and records what it got.
type Receiver struct {
	URL string

	mu       sync.Mutex
	secrets  []string
	got      []Hook
	tries    map[string]int // requests per webhook-id
	failures int            // answer 500 to the first failures requests of each webhook-id
	delay    time.Duration
	inflight map[string]int
	overlaps int // requests for one webhook-id that overlapped in time
}

// Hook is one request the receiver got.
type Hook struct {
	ID       string // webhook-id
	Type     string
	Data     map[string]any
	Body     []byte
	Header   http.Header
	Verified error // nil when a configured secret verified the signature
	Answered int   // the status the receiver answered
	At       time.Time
}

// NewReceiver starts a receiver that stops with the test.
func NewReceiver(t testing.TB) *Receiver {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &Receiver{URL: "http://" + ln.Addr().String() + "/hooks", tries: map[string]int{}, inflight: map[string]int{}}
	hs := &http.Server{Handler: r, ReadHeaderTimeout: 5 * time.Second}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	return r
}

// SetSecrets replaces the secrets the receiver accepts.
func (r *Receiver) SetSecrets(secrets ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.secrets = secrets
}

// FailFirst makes the first n requests of every webhook-id answer 500.
func (r *Receiver) FailFirst(n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failures = n
}

// Delay makes every answer wait d, so that overlapping sends show.
func (r *Receiver) Delay(d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.delay = d
}

func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	h := Hook{ID: req.Header.Get("webhook-id"), Body: body, Header: req.Header.Clone(), At: time.Now()}
	var env struct {
		Type string         `json:"type"`
		Data map[string]any `json:"data"`
	}
	if err := json.Unmarshal(body, &env); err == nil {
		h.Type, h.Data = env.Type, env.Data
	}
	r.mu.Lock()
	secrets, delay := r.secrets, r.delay
	r.tries[h.ID]++
	fail := r.tries[h.ID] <= r.failures
	r.inflight[h.ID]++
	if r.inflight[h.ID] > 1 {
		r.overlaps++
	}
	r.mu.Unlock()

	h.Verified = fmt.Errorf("no secret configured")
	for _, s := range secrets {
		wh, err := standardwebhooks.NewWebhook(s)
		if err != nil {
			h.Verified = err
			continue
		}
		if h.Verified = wh.Verify(body, req.Header); h.Verified == nil {
			break
		}
	}
	time.Sleep(delay)
	h.Answered = http.StatusNoContent
	if fail {
		h.Answered = http.StatusInternalServerError
	}
	r.mu.Lock()
	r.inflight[h.ID]--
	r.got = append(r.got, h)
	r.mu.Unlock()
	w.WriteHeader(h.Answered)
}

// Hooks returns every request so far, in arrival order.
func (r *Receiver) Hooks() []Hook {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Hook(nil), r.got...)
}

// Overlaps counts requests that arrived while another request with the
// same webhook-id was still being answered.
func (r *Receiver) Overlaps() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.overlaps
}

// InFlight counts requests being answered now.
func (r *Receiver) InFlight() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, c := range r.inflight {
		n += c
	}
	return n
}

// WaitFor polls until done reports true of the requests so far, failing
// the test after timeout.
func (r *Receiver) WaitFor(t testing.TB, timeout time.Duration, what string, done func([]Hook) bool) []Hook {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		hooks := r.Hooks()
		if done(hooks) {
			return hooks
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s; got %d requests", timeout, what, len(hooks))
		}
		time.Sleep(10 * time.Millisecond)
	}
}
