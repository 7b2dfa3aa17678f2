package sqlstore

import (
	"context"

	"github.com/latchkey/latchkey"
)

// AuditEventsPage lists audit events newest first, on the (…, created_at,
// id) indexes of migration 0010: one filter picks the index (org, action
// or target), and the keyset condition reads on from the cursor.
func (s *Store) AuditEventsPage(ctx context.Context, f latchkey.AuditFilter) ([]latchkey.AuditEvent, error) {
	var q newestFirst
	if f.UserID != "" {
		id := q.arg(f.UserID)
		q.and("(actor_id = " + id + " OR target = " + id + ")")
	}
	if f.OrgID != "" {
		q.and("org_id = " + q.arg(f.OrgID))
	}
	if f.Action != "" {
		q.and("action = " + q.arg(f.Action))
	}
	if !f.Since.IsZero() {
		q.and("created_at >= " + q.arg(ts(f.Since)))
	}
	if !f.Until.IsZero() {
		q.and("created_at < " + q.arg(ts(f.Until)))
	}
	sel := `SELECT id, actor_id, org_id, action, target, ip, user_agent, data, created_at FROM audit_events`
	return s.auditEvents(ctx, q.sql(sel, "", f.After, f.Limit), q.args...)
}

func (s *Store) auditEvents(ctx context.Context, q string, args ...any) ([]latchkey.AuditEvent, error) {
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	out := []latchkey.AuditEvent{}
	for rows.Next() {
		var e latchkey.AuditEvent
		var data string
		var created int64
		if err := rows.Scan(&e.ID, &e.ActorID, &e.OrgID, &e.Action, &e.Target, &e.IP, &e.UserAgent, &data, &created); err != nil {
			return nil, err
		}
		e.Data, e.CreatedAt = []byte(data), fromTS(created)
		out = append(out, e)
	}
	return out, rows.Err()
}
