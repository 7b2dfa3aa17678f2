package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"

	"github.com/latchkey/latchkey"
)

const webhookColumns = `id, url, description, events, secrets, created_at, updated_at, disabled_at, disabled_reason, failing_since`

func scanWebhook(row scanner) (latchkey.Webhook, error) {
	var w latchkey.Webhook
	var events string
	var created, updated int64
	var disabled, failing sql.NullInt64
	if err := row.Scan(&w.ID, &w.URL, &w.Description, &events, &w.Secrets, &created, &updated, &disabled, &w.DisabledReason, &failing); err != nil {
		return w, translate(err)
	}
	if err := json.Unmarshal([]byte(events), &w.Events); err != nil {
		return w, err
	}
	w.CreatedAt, w.UpdatedAt, w.DisabledAt, w.FailingSince = fromTS(created), fromTS(updated), fromNullTS(disabled), fromNullTS(failing)
	return w, nil
}

// CreateWebhook inserts an endpoint and its subscriptions.
func (s *Store) CreateWebhook(ctx context.Context, w latchkey.Webhook) error {
	return s.Tx(ctx, func(tx latchkey.Store) error {
		t := tx.(*Store)
		events, _ := json.Marshal(w.Events)
		if err := t.exec(ctx, `INSERT INTO webhooks (`+webhookColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			w.ID, w.URL, w.Description, string(events), w.Secrets, ts(w.CreatedAt), ts(w.UpdatedAt),
			nullTS(w.DisabledAt), w.DisabledReason, nullTS(w.FailingSince)); err != nil {
			return err
		}
		return t.subscribe(ctx, w)
	})
}

func (s *Store) subscribe(ctx context.Context, w latchkey.Webhook) error {
	for _, typ := range w.Events {
		if err := s.exec(ctx, `INSERT INTO webhook_subscriptions (type, webhook_id) VALUES ($1, $2)`, typ, w.ID); err != nil {
			return err
		}
	}
	return nil
}

// WebhookByID reads an endpoint, locking it inside a transaction.
func (s *Store) WebhookByID(ctx context.Context, id string) (latchkey.Webhook, error) {
	return scanWebhook(s.r.QueryRowContext(ctx, `SELECT `+webhookColumns+` FROM webhooks WHERE id = $1`+s.forUpdate(), id))
}

// Webhooks lists every endpoint, oldest first.
func (s *Store) Webhooks(ctx context.Context) ([]latchkey.Webhook, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+webhookColumns+` FROM webhooks ORDER BY created_at, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []latchkey.Webhook{}
	for rows.Next() {
		w, err := scanWebhook(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

// UpdateWebhook writes an endpoint and replaces its subscriptions.
func (s *Store) UpdateWebhook(ctx context.Context, w latchkey.Webhook) error {
	return s.Tx(ctx, func(tx latchkey.Store) error {
		t := tx.(*Store)
		events, _ := json.Marshal(w.Events)
		if err := t.execOne(ctx, `UPDATE webhooks SET url = $2, description = $3, events = $4, secrets = $5, updated_at = $6,
			disabled_at = $7, disabled_reason = $8, failing_since = $9 WHERE id = $1`,
			w.ID, w.URL, w.Description, string(events), w.Secrets, ts(w.UpdatedAt),
			nullTS(w.DisabledAt), w.DisabledReason, nullTS(w.FailingSince)); err != nil {
			return err
		}
		if err := t.exec(ctx, `DELETE FROM webhook_subscriptions WHERE webhook_id = $1`, w.ID); err != nil {
			return err
		}
		return t.subscribe(ctx, w)
	})
}

// DeleteWebhook deletes an endpoint; its subscriptions and deliveries go
// by cascade.
func (s *Store) DeleteWebhook(ctx context.Context, id string) error {
	return s.execOne(ctx, `DELETE FROM webhooks WHERE id = $1`, id)
}

// AddEvent writes an event and fans it out to the endpoints that take it,
// in whatever transaction s is in.
func (s *Store) AddEvent(ctx context.Context, e latchkey.Event, only string) error {
	return s.Tx(ctx, func(tx latchkey.Store) error {
		t := tx.(*Store)
		at := ts(e.CreatedAt)
		if err := t.exec(ctx, `INSERT INTO events (id, type, subject, payload, created_at) VALUES ($1, $2, $3, $4, $5)`,
			e.ID, e.Type, e.Subject, string(e.Payload), at); err != nil {
			return err
		}
		// The casts type the parameters of the select list for PostgreSQL.
		const insert = `INSERT INTO webhook_deliveries (webhook_id, event_id, type, subject, status, attempts, next_attempt_at, created_at, updated_at)
			SELECT DISTINCT w.id, CAST($1 AS TEXT), CAST($2 AS TEXT), CAST($3 AS TEXT), 'pending', 0, CAST($4 AS BIGINT), CAST($4 AS BIGINT), CAST($4 AS BIGINT) FROM webhooks w `
		if only != "" {
			return t.exec(ctx, insert+`WHERE w.id = $5`, e.ID, e.Type, e.Subject, at, only)
		}
		return t.exec(ctx, insert+`JOIN webhook_subscriptions s ON s.webhook_id = w.id
			WHERE s.type IN ($2, '*') AND w.disabled_at IS NULL`, e.ID, e.Type, e.Subject, at)
	})
}

// EventByID reads an event of the outbox.
func (s *Store) EventByID(ctx context.Context, id string) (latchkey.Event, error) {
	var e latchkey.Event
	var payload string
	var created int64
	err := s.r.QueryRowContext(ctx, `SELECT id, type, subject, payload, created_at FROM events WHERE id = $1`, id).
		Scan(&e.ID, &e.Type, &e.Subject, &payload, &created)
	e.Payload, e.CreatedAt = []byte(payload), fromTS(created)
	return e, translate(err)
}

// ClaimDeliveries claims due deliveries. On PostgreSQL the rows are
// locked with SKIP LOCKED, so workers on several nodes claiming at once
// each get different rows without waiting for one another; on SQLite the
// transaction holds the only writer.
func (s *Store) ClaimDeliveries(ctx context.Context, claim string, now, until time.Time, max int) ([]latchkey.ClaimedDelivery, error) {
	var out []latchkey.ClaimedDelivery
	err := s.Tx(ctx, func(tx latchkey.Store) error {
		t := tx.(*Store)
		lock := ""
		if t.db.Dialect == Postgres {
			lock = ` FOR UPDATE OF d SKIP LOCKED`
		}
		rows, err := t.r.QueryContext(ctx, `SELECT d.seq, d.webhook_id, d.event_id, d.type, d.subject, d.attempts, d.created_at, w.url, w.secrets, e.payload
			FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id JOIN events e ON e.id = d.event_id
			WHERE d.status = 'pending' AND d.next_attempt_at <= $1 AND d.claimed_until < $1 AND w.disabled_at IS NULL
			AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p WHERE p.webhook_id = d.webhook_id AND p.subject = d.subject
				AND p.status = 'pending' AND p.attempts = 0 AND p.seq < d.seq)
			ORDER BY d.next_attempt_at, d.seq LIMIT $2`+lock, ts(now), max)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var c latchkey.ClaimedDelivery
			var created int64
			var payload string
			if err := rows.Scan(&c.Seq, &c.WebhookID, &c.EventID, &c.Type, &c.Subject, &c.Attempts, &created, &c.URL, &c.Secrets, &payload); err != nil {
				return err
			}
			c.CreatedAt, c.Payload, c.Claim, c.Status = fromTS(created), []byte(payload), claim, latchkey.DeliveryPending
			out = append(out, c)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		rows.Close()
		for _, c := range out {
			if err := t.exec(ctx, `UPDATE webhook_deliveries SET claim = $2, claimed_until = $3 WHERE seq = $1`, c.Seq, claim, ts(until)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// FinishDelivery records an attempt, if claim still holds the row.
func (s *Store) FinishDelivery(ctx context.Context, d latchkey.WebhookDelivery, claim string) (string, error) {
	var webhookID string
	err := s.w.QueryRowContext(ctx, `UPDATE webhook_deliveries SET status = $3, attempts = $4, next_attempt_at = $5,
		response_status = $6, error = $7, updated_at = $8, claim = '', claimed_until = 0
		WHERE seq = $1 AND claim = $2 RETURNING webhook_id`,
		d.Seq, claim, d.Status, d.Attempts, ts(d.NextAttemptAt), d.ResponseStatus, d.Error, ts(d.UpdatedAt)).Scan(&webhookID)
	return webhookID, translate(err)
}

// WebhookDeliveries pages an endpoint's deliveries, newest first.
func (s *Store) WebhookDeliveries(ctx context.Context, webhookID string, before int64, limit int) ([]latchkey.WebhookDelivery, error) {
	q := `SELECT seq, webhook_id, event_id, type, subject, status, attempts, next_attempt_at, response_status, error, created_at, updated_at
		FROM webhook_deliveries WHERE webhook_id = $1`
	args := []any{webhookID, limit}
	if before > 0 {
		q += ` AND seq < $3`
		args = append(args, before)
	}
	rows, err := s.r.QueryContext(ctx, q+` ORDER BY seq DESC LIMIT $2`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []latchkey.WebhookDelivery{}
	for rows.Next() {
		var d latchkey.WebhookDelivery
		var next, created, updated int64
		if err := rows.Scan(&d.Seq, &d.WebhookID, &d.EventID, &d.Type, &d.Subject, &d.Status, &d.Attempts, &next,
			&d.ResponseStatus, &d.Error, &created, &updated); err != nil {
			return nil, err
		}
		d.NextAttemptAt, d.CreatedAt, d.UpdatedAt = fromTS(next), fromTS(created), fromTS(updated)
		out = append(out, d)
	}
	return out, rows.Err()
}

// PendingDeliveries counts the deliveries still to send.
func (s *Store) PendingDeliveries(ctx context.Context) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'pending'`).Scan(&n)
	return n, err
}
