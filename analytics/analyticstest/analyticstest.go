// Package analyticstest runs a fake PostHog ingestion endpoint on loopback
// that records the events posthog-go uploads, so tests can assert which
// product events a flow emitted.
package analyticstest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"
)

// Event is one captured event as PostHog received it.
type Event struct {
	APIKey     string         // the project key of the batch
	Event      string         // e.g. "signup_completed"
	DistinctID string         // the user id
	Properties map[string]any // the event's properties, PostHog's own ($lib...) included
	Timestamp  time.Time
}

// Server is a fake PostHog; it stops when the test ends.
type Server struct {
	// URL is the endpoint to give analytics.New as host.
	URL string

	mu      sync.Mutex
	events  []Event
	taken   []bool
	arrived chan struct{}
}

// batch is the body posthog-go POSTs to /batch/.
type batch struct {
	APIKey   string `json:"api_key"`
	Messages []struct {
		Type       string         `json:"type"`
		Event      string         `json:"event"`
		DistinctID string         `json:"distinct_id"`
		Properties map[string]any `json:"properties"`
		Timestamp  time.Time      `json:"timestamp"`
	} `json:"batch"`
}

// Start starts the endpoint on 127.0.0.1 and stops it with t.Cleanup.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{arrived: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /batch/", s.batch)
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	s.URL = ts.URL
	return s
}

func (s *Server) batch(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 10<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var b batch
	if err := json.Unmarshal(body, &b); err != nil {
		http.Error(w, "bad batch: "+err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	for _, m := range b.Messages {
		if m.Type != "capture" {
			continue
		}
		s.events = append(s.events, Event{
			APIKey: b.APIKey, Event: m.Event, DistinctID: m.DistinctID,
			Properties: m.Properties, Timestamp: m.Timestamp,
		})
		s.taken = append(s.taken, false)
	}
	close(s.arrived)
	s.arrived = make(chan struct{})
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"status":1}`)
}

// Events returns every event received so far.
func (s *Server) Events() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.events)
}

// Next waits up to 10 seconds for the next event named name that no
// earlier call of Next returned, and fails the test if none comes.
func (s *Server) Next(t testing.TB, name string) Event {
	t.Helper()
	timeout := time.NewTimer(10 * time.Second)
	defer timeout.Stop()
	for {
		s.mu.Lock()
		for i, e := range s.events {
			if !s.taken[i] && e.Event == name {
				s.taken[i] = true
				s.mu.Unlock()
				return e
			}
		}
		arrived := s.arrived
		s.mu.Unlock()
		select {
		case <-arrived:
		case <-timeout.C:
			t.Fatalf("analyticstest: no %q event within 10s", name)
		}
	}
}
