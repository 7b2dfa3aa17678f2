package server

import (
	"encoding/json"
	"time"

	"github.com/latchkey/latchkey"
)

// The audit trail (contract §8): the instance's for operators, an org's
// for its owners and admins.

type auditListRequest struct {
	UserID string     `json:"user_id,omitempty"`
	OrgID  string     `json:"org_id,omitempty"`
	Action string     `json:"action,omitempty"`
	Since  *time.Time `json:"since,omitempty"`
	Until  *time.Time `json:"until,omitempty"`
	Cursor string     `json:"cursor,omitempty"`
	Limit  int        `json:"limit,omitempty"`
}

type auditEventJSON struct {
	ID        string          `json:"id"`
	Time      time.Time       `json:"time"`
	ActorID   string          `json:"actor_id"`
	ActorKind string          `json:"actor_kind"`
	Action    string          `json:"action"`
	Target    string          `json:"target"`
	OrgID     string          `json:"org_id"`
	IP        string          `json:"ip"`
	UserAgent string          `json:"user_agent"`
	Data      json.RawMessage `json:"data"`
}

type auditListResponse struct {
	Events     []auditEventJSON `json:"events"`
	NextCursor *string          `json:"next_cursor"`
}

func (r auditListRequest) query() latchkey.AuditQuery {
	return latchkey.AuditQuery{UserID: r.UserID, OrgID: r.OrgID, Action: r.Action, Since: r.Since, Until: r.Until, Cursor: r.Cursor, Limit: r.Limit}
}

func toAuditList(list []latchkey.AuditEvent, next string) auditListResponse {
	out := auditListResponse{Events: []auditEventJSON{}, NextCursor: nextCursor(next)}
	for _, e := range list {
		out.Events = append(out.Events, auditEventJSON{e.ID, e.CreatedAt, e.ActorID, e.ActorKind(), e.Action, e.Target, e.OrgID, e.IP, e.UserAgent, e.Data})
	}
	return out
}

func (s *Server) auditOps() []operation {
	return []operation{
		rpc("admin.audit_events.list", authAdmin, "The instance's audit trail, newest first, filtered by user, org, action and time (operators).",
			func(c *call, req auditListRequest) (auditListResponse, error) {
				list, next, err := s.svc.AdminAuditEvents(c.ctx, c.auth, req.query())
				return toAuditList(list, next), err
			}),
		rpc("org.audit_events.list", authAny, "The caller's organization's audit trail, newest first, with the same filters (owners and admins, or a key with org:admin).",
			func(c *call, req auditListRequest) (auditListResponse, error) {
				list, next, err := s.svc.OrgAuditEvents(c.ctx, c.auth, req.query())
				return toAuditList(list, next), err
			}),
	}
}
