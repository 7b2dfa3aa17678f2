package latchkey

import (
	"context"
	"strings"
	"time"
)

// AuditFilter selects audit events, newest first by (created_at, id).
// Empty fields do not filter.
type AuditFilter struct {
	UserID string // events the user did or that were done to them
	OrgID  string
	Action string
	Since  time.Time // inclusive
	Until  time.Time // exclusive
	After  Cursor
	Limit  int
}

// AuditStore is the storage of the audit trail's lists.
type AuditStore interface {
	AuditEventsPage(ctx context.Context, f AuditFilter) ([]AuditEvent, error)
}

// AuditQuery is the request of admin.audit_events.list and
// org.audit_events.list.
type AuditQuery struct {
	UserID, OrgID, Action string
	Since, Until          *time.Time
	Cursor                string
	Limit                 int
}

// AdminAuditEvents is admin.audit_events.list: the whole instance's trail.
func (s *Service) AdminAuditEvents(ctx context.Context, ac *AuthContext, q AuditQuery) ([]AuditEvent, string, error) {
	if err := RequireOperator(ac); err != nil {
		return nil, "", err
	}
	f, err := auditFilter(q)
	if err != nil {
		return nil, "", err
	}
	list, next, err := s.auditPage(ctx, f)
	if err != nil {
		return nil, "", err
	}
	s.auditAdmin(ctx, ac, "admin.audit_events.list", f.UserID, f.OrgID, map[string]any{"action": f.Action})
	return list, next, nil
}

// OrgAuditEvents is org.audit_events.list: the caller's org's trail, for
// its owners and admins (or org:admin keys). Whatever org_id the request
// names, only events of the caller's org are read.
func (s *Service) OrgAuditEvents(ctx context.Context, ac *AuthContext, q AuditQuery) ([]AuditEvent, string, error) {
	if err := RequireAdmin(ac); err != nil {
		return nil, "", err
	}
	if q.OrgID != "" && q.OrgID != ac.Org.ID {
		return nil, "", Errorf(CodeForbidden, "You can read only your own organization's audit trail.")
	}
	q.OrgID = ac.Org.ID
	f, err := auditFilter(q)
	if err != nil {
		return nil, "", err
	}
	return s.auditPage(ctx, f)
}

func (s *Service) auditPage(ctx context.Context, f AuditFilter) ([]AuditEvent, string, error) {
	limit := f.Limit
	f.Limit++
	list, err := s.Store.AuditEventsPage(ctx, f)
	if err != nil {
		return nil, "", err
	}
	list, next := page(list, limit, func(e AuditEvent) Cursor { return Cursor{e.CreatedAt, e.ID} })
	return list, next, nil
}

func auditFilter(q AuditQuery) (AuditFilter, error) {
	var f AuditFilter
	var err error
	if f.Limit, err = pageLimit(q.Limit); err != nil {
		return f, err
	}
	if f.After, err = parseCursor(q.Cursor); err != nil {
		return f, err
	}
	for _, p := range []struct {
		field, v string
		to       *string
	}{{"user_id", q.UserID, &f.UserID}, {"org_id", q.OrgID, &f.OrgID}, {"action", q.Action, &f.Action}} {
		v := strings.TrimSpace(p.v)
		if len(v) > 128 || strings.ContainsFunc(v, isControl) {
			return f, Invalid(p.field, "%s must be at most 128 printable characters.", p.field)
		}
		*p.to = v
	}
	if q.Since != nil {
		f.Since = *q.Since
	}
	if q.Until != nil {
		f.Until = *q.Until
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Until.After(f.Since) {
		return f, Invalid("until", "until must be after since.")
	}
	return f, nil
}
