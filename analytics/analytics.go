// Package analytics sends product events (signup_completed, login_failed,
// ...) to PostHog with posthog-go. Capturing never blocks nor fails the
// request that triggers it: events go to a bounded buffer and are dropped,
// with a log line, when it is full; posthog-go batches and uploads them in
// the background. Without an API key the Client does nothing.
package analytics

import (
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"time"

	"github.com/posthog/posthog-go"
)

// DefaultHost is PostHog's US cloud ingestion endpoint.
const DefaultHost = "https://us.i.posthog.com"

const (
	bufferSize    = 1024
	flushInterval = time.Second // the events are few; deliver them promptly
)

// Client captures events. A nil *Client and one made without an API key
// accept every call and send nothing.
type Client struct {
	ph     posthog.Client
	logger *slog.Logger
	events chan posthog.Capture
	done   chan struct{} // closed when the forwarder has stopped

	mu     sync.RWMutex
	closed bool
}

// New returns a Client for the PostHog project apiKey at host (default
// DefaultHost); with an empty apiKey it returns a Client that sends nothing.
func New(apiKey, host string, logger *slog.Logger) *Client {
	if logger == nil {
		logger = slog.Default()
	}
	c := &Client{logger: logger}
	if apiKey == "" {
		return c
	}
	if host == "" {
		host = DefaultHost
	}
	ph, err := posthog.NewWithConfig(apiKey, posthog.Config{
		Endpoint: host,
		Interval: flushInterval,
		Logger:   posthogLogger{logger},
	})
	if err != nil {
		logger.Error("analytics: disabled, PostHog client did not start", "err", err)
		return c
	}
	c.ph = ph
	c.events = make(chan posthog.Capture, bufferSize)
	c.done = make(chan struct{})
	go c.forward()
	return c
}

// Enabled reports whether events are sent anywhere.
func (c *Client) Enabled() bool { return c != nil && c.ph != nil }

// Capture records event for the user (or other actor) distinctID, with
// optional properties. It returns at once, whatever happens to the event.
func (c *Client) Capture(distinctID, event string, props map[string]any) {
	if !c.Enabled() || distinctID == "" || event == "" {
		return
	}
	capture := posthog.Capture{DistinctId: distinctID, Event: event, Timestamp: time.Now()}
	if len(props) > 0 {
		capture.Properties = posthog.Properties(maps.Clone(props))
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return
	}
	select {
	case c.events <- capture:
	default:
		c.logger.Warn("analytics: buffer full, event dropped", "event", event)
	}
}

// Close sends the events captured so far and stops the Client. Capture
// calls after Close are ignored.
func (c *Client) Close() error {
	if !c.Enabled() {
		return nil
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	close(c.events)
	c.mu.Unlock()
	<-c.done
	if err := c.ph.Close(); err != nil {
		return fmt.Errorf("analytics: %w", err)
	}
	return nil
}

// forward hands buffered events to posthog-go, whose own queue may block.
func (c *Client) forward() {
	defer close(c.done)
	for e := range c.events {
		if err := c.ph.Enqueue(e); err != nil {
			c.logger.Warn("analytics: event dropped", "event", e.Event, "err", err)
		}
	}
}

// posthogLogger routes posthog-go's log lines to slog.
type posthogLogger struct{ l *slog.Logger }

func (p posthogLogger) Logf(format string, args ...any) {
	p.l.Debug("analytics: " + fmt.Sprintf(format, args...))
}

func (p posthogLogger) Errorf(format string, args ...any) {
	p.l.Warn("analytics: " + fmt.Sprintf(format, args...))
}
