package analytics_test

import (
	"log/slog"
	"net"
	"testing"

	"github.com/latchkey/latchkey/analytics"
	"github.com/latchkey/latchkey/analytics/analyticstest"
)

func TestCaptureDeliversOnClose(t *testing.T) {
	ph := analyticstest.Start(t)
	c := analytics.New("phc_test", ph.URL, slog.New(slog.DiscardHandler))
	if !c.Enabled() {
		t.Fatal("client with an API key is not enabled")
	}
	c.Capture("usr_1", "signup_completed", map[string]any{"method": "password"})
	c.Capture("usr_1", "login_succeeded", nil)
	c.Capture("", "ignored_without_actor", nil)
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	c.Capture("usr_1", "after_close", nil) // ignored, and no panic

	events := ph.Events()
	if len(events) != 2 {
		t.Fatalf("got %d events, want 2: %+v", len(events), events)
	}
	signup := events[0]
	if signup.Event != "signup_completed" || signup.DistinctID != "usr_1" || signup.APIKey != "phc_test" {
		t.Errorf("first event = %+v", signup)
	}
	if signup.Properties["method"] != "password" {
		t.Errorf("method = %v, want password", signup.Properties["method"])
	}
	if signup.Timestamp.IsZero() {
		t.Error("event has no timestamp")
	}
	if events[1].Event != "login_succeeded" {
		t.Errorf("second event = %+v", events[1])
	}
}

func TestCaptureArrivesWithoutClose(t *testing.T) {
	ph := analyticstest.Start(t)
	c := analytics.New("phc_test", ph.URL, slog.New(slog.DiscardHandler))
	t.Cleanup(func() { _ = c.Close() })
	c.Capture("usr_2", "email_verified", nil)
	if e := ph.Next(t, "email_verified"); e.DistinctID != "usr_2" {
		t.Errorf("event = %+v", e)
	}
}

func TestDisabledClientDoesNothing(t *testing.T) {
	for _, c := range []*analytics.Client{nil, analytics.New("", "http://127.0.0.1:1", nil)} {
		if c.Enabled() {
			t.Error("client without an API key is enabled")
		}
		c.Capture("usr_1", "signup_completed", nil)
		if err := c.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}
}

func TestUnreachableEndpointNeitherBlocksNorFails(t *testing.T) {
	// A port that was just free: connections to it are refused.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	c := analytics.New("phc_test", "http://"+addr, slog.New(slog.DiscardHandler))
	for range 5000 { // more than the buffer holds: the rest is dropped, not waited for
		c.Capture("usr_1", "login_failed", nil)
	}
	if err := c.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}
