package sqlstore

import (
	"context"
	"strconv"
	"strings"

	"github.com/latchkey/latchkey"
)

// AuditEventsPage lists audit events newest first, on the (…, created_at,
// id) indexes of migration 0010: one filter picks the index (org, action
// or target), and the keyset condition reads on from the cursor.
func (s *Store) AuditEventsPage(ctx context.Context, f latchkey.AuditFilter) ([]latchkey.AuditEvent, error) {
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if f.UserID != "" {
		id := arg(f.UserID)
		where = append(where, "(actor_id = "+id+" OR target = "+id+")")
	}
	if f.OrgID != "" {
		where = append(where, "org_id = "+arg(f.OrgID))
	}
	if f.Action != "" {
		where = append(where, "action = "+arg(f.Action))
	}
	if !f.Since.IsZero() {
		where = append(where, "created_at >= "+arg(ts(f.Since)))
	}
	if !f.Until.IsZero() {
		where = append(where, "created_at < "+arg(ts(f.Until)))
	}
	if !f.After.IsZero() {
		where = append(where, "(created_at, id) < ("+arg(ts(f.After.At))+", "+arg(f.After.ID)+")")
	}
	q := `SELECT id, actor_id, org_id, action, target, ip, user_agent, data, created_at FROM audit_events`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY created_at DESC, id DESC LIMIT " + arg(f.Limit)
	return s.auditEvents(ctx, q, args...)
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
