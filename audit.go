package latchkey

import (
	"context"
	"encoding/json"
	"strings"
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

// ActorKind says who ActorID is: "admin_key" (adm_…), "operator" (a user
// acting through admin.*), "user" (usr_…), "api_key" (an org's key_…),
// "cli" (latchkey admin on the database) or "system" (no actor: the
// server itself).
func (e AuditEvent) ActorKind() string {
	var d struct {
		ActorKind string `json:"actor_kind"`
	}
	if json.Unmarshal(e.Data, &d) == nil && d.ActorKind != "" {
		return d.ActorKind
	}
	switch {
	case strings.HasPrefix(e.ActorID, "adm_"):
		return "admin_key"
	case strings.HasPrefix(e.ActorID, "usr_"):
		return "user"
	case strings.HasPrefix(e.ActorID, "key_"):
		return "api_key"
	case e.ActorID == "cli":
		return "cli"
	}
	return "system"
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
