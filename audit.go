package latchkey

import (
	"context"
	"encoding/json"
	"time"

	"github.com/latchkey/latchkey/secret"
)

// AuditEvent records a security-relevant change: who, what, to what, from where.
type AuditEvent struct {
	ID        string
	ActorID   string
	OrgID     string
	Action    string
	Target    string
	IP        string
	UserAgent string
	Data      json.RawMessage
	CreatedAt time.Time
}

// audit writes an audit event. A failure is logged and does not fail the
// flow that already happened.
func (s *Service) audit(ctx context.Context, e AuditEvent) {
	e.ID = secret.ID("aud_")
	e.CreatedAt = s.now()
	e.UserAgent = truncate(e.UserAgent, 512)
	if e.Data == nil {
		e.Data = json.RawMessage("{}")
	}
	if err := s.Store.AddAuditEvent(ctx, e); err != nil {
		s.Logger.ErrorContext(ctx, "audit event lost", "action", e.Action, "err", err)
	}
}

// Analytics receives product events (contract section 6). Capture must
// not block; the analytics package sends to PostHog in the background.
type Analytics interface {
	Capture(distinctID, event string, props map[string]any)
}

type noAnalytics struct{}

func (noAnalytics) Capture(string, string, map[string]any) {}

// track sends a product event.
func (s *Service) track(distinctID, event string, props map[string]any) {
	s.Analytics.Capture(distinctID, event, props)
}
