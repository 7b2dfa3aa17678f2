package latchkey

// Webhooks (contract §9): operators' endpoints and the queue the webhook
// package's worker drains. The events themselves are recorded by the
// flows, inside their own transactions (webhook_events.go).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/latchkey/latchkey/secret"
	"github.com/latchkey/latchkey/webhook"
)

// Webhook is an operator's endpoint.
type Webhook struct {
	ID             string
	URL            string
	Description    string
	Events         []string // event types, or ["*"]
	Secrets        string   // sealed JSON of []webhookSecret
	CreatedAt      time.Time
	UpdatedAt      time.Time
	DisabledAt     time.Time // zero while enabled
	DisabledReason string
	FailingSince   time.Time // zero unless every attempt since failed
}

// Disabled tells whether deliveries to w are held back.
func (w Webhook) Disabled() bool { return !w.DisabledAt.IsZero() }

// webhookSecret is one signing secret; during a rotation the old one
// keeps signing until Expires.
type webhookSecret struct {
	Secret  string    `json:"secret"`
	Expires time.Time `json:"expires,omitzero"`
}

// Delivery statuses.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed"
)

// WebhookDelivery is one event's delivery to one endpoint: its attempts
// so far and what happens next.
type WebhookDelivery struct {
	Seq            int64
	WebhookID      string
	EventID        string
	Type           string
	Subject        string
	Status         string
	Attempts       int
	NextAttemptAt  time.Time
	ResponseStatus int
	Error          string
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// ClaimedDelivery is a delivery a worker holds, with what sending needs.
type ClaimedDelivery struct {
	WebhookDelivery
	Claim   string
	URL     string
	Secrets string // sealed, as stored
	Payload []byte
}

// WebhookStore keeps endpoints, the outbox and deliveries.
type WebhookStore interface {
	// CreateWebhook inserts an endpoint with its subscriptions.
	CreateWebhook(ctx context.Context, w Webhook) error
	// WebhookByID reads an endpoint; inside Tx it locks the row.
	WebhookByID(ctx context.Context, id string) (Webhook, error)
	// Webhooks lists every endpoint, oldest first.
	Webhooks(ctx context.Context) ([]Webhook, error)
	// UpdateWebhook writes every field but id and created_at, and replaces
	// the subscriptions.
	UpdateWebhook(ctx context.Context, w Webhook) error
	DeleteWebhook(ctx context.Context, id string) error
	// AddEvent writes an event and, in the same statement batch, one
	// pending delivery per enabled endpoint subscribed to its type (or,
	// when only is set, to that endpoint alone).
	AddEvent(ctx context.Context, e Event, only string) error
	// ClaimDeliveries marks up to max due, unclaimed deliveries of enabled
	// endpoints as held by claim until until, oldest first, skipping any
	// whose endpoint has an earlier delivery for the same subject still
	// waiting for its first attempt; rows another node is claiming are
	// skipped, not waited for.
	ClaimDeliveries(ctx context.Context, claim string, now, until time.Time, max int) ([]ClaimedDelivery, error)
	// FinishDelivery writes an attempt's outcome (status, attempts,
	// next_attempt_at, response_status, error, updated_at) and drops the
	// claim; it returns the delivery's endpoint, or ErrNotFound when claim
	// no longer holds the row.
	FinishDelivery(ctx context.Context, d WebhookDelivery, claim string) (webhookID string, err error)
	// WebhookDeliveries lists an endpoint's deliveries newest first, those
	// with seq below before (0: from the newest).
	WebhookDeliveries(ctx context.Context, webhookID string, before int64, limit int) ([]WebhookDelivery, error)
	// PendingDeliveries counts deliveries not yet delivered nor failed.
	PendingDeliveries(ctx context.Context) (int, error)
	// EventByID reads an event of the outbox.
	EventByID(ctx context.Context, id string) (Event, error)
}

// Timing of deliveries (contract §9).
var (
	// retryDelays follow a failed attempt: the n-th failure waits
	// retryDelays[n-1], and every 6 h after the last.
	retryDelays = []time.Duration{5 * time.Second, 30 * time.Second, 2 * time.Minute, 10 * time.Minute,
		30 * time.Minute, time.Hour, 3 * time.Hour, 6 * time.Hour}
	// deliveryLifetime is how long an event is retried, and how long an
	// endpoint may fail every attempt before it is disabled.
	deliveryLifetime = 72 * time.Hour
	// claimLease is how long a worker holds a delivery: well past the
	// attempt's timeout, so a claim lapses only when its worker is gone.
	claimLease = webhook.Timeout + 10*time.Second
	// secretOverlap is how long a rotated-out secret keeps signing.
	secretOverlap = 24 * time.Hour
)

func retryDelay(failures int) time.Duration {
	if failures <= len(retryDelays) {
		return retryDelays[max(failures, 1)-1]
	}
	return retryDelays[len(retryDelays)-1]
}

// WebhookInput creates or changes an endpoint; nil fields stay as they are.
type WebhookInput struct {
	ID          string
	URL         *string
	Events      []string // nil: unchanged (create: ["*"])
	Description *string
	Disabled    *bool
}

// CreateWebhook registers an endpoint and returns its first secret, the
// only time it is shown.
func (s *Service) CreateWebhook(ctx context.Context, ac *AuthContext, in WebhookInput) (Webhook, string, error) {
	if err := RequireOperator(ac); err != nil {
		return Webhook{}, "", err
	}
	if in.URL == nil {
		return Webhook{}, "", Invalid("url", "url is required.")
	}
	now := s.now()
	w := Webhook{ID: secret.ID("whk_"), CreatedAt: now, UpdatedAt: now, Events: []string{"*"}}
	if err := applyWebhookInput(&w, in); err != nil {
		return Webhook{}, "", err
	}
	sec := webhook.NewSecret()
	w.Secrets = s.sealWebhookSecrets([]webhookSecret{{Secret: sec}})
	if err := s.Store.CreateWebhook(ctx, w); err != nil {
		return Webhook{}, "", err
	}
	s.auditAdmin(ctx, ac, "admin.webhook.created", w.ID, "", map[string]any{"url": w.URL, "events": w.Events})
	return w, sec, nil
}

func applyWebhookInput(w *Webhook, in WebhookInput) error {
	if in.URL != nil {
		u, err := url.Parse(*in.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(*in.URL) > 2048 || u.User != nil {
			return Invalid("url", "url must be an absolute http or https URL without credentials, at most 2048 characters.")
		}
		w.URL = u.String()
	}
	if in.Events != nil {
		events, err := checkEventTypes(in.Events)
		if err != nil {
			return err
		}
		w.Events = events
	}
	if in.Description != nil {
		d, err := checkName("description", *in.Description)
		if err != nil {
			return err
		}
		w.Description = d
	}
	return nil
}

func checkEventTypes(list []string) ([]string, error) {
	if len(list) == 0 || slices.Contains(list, "*") {
		return []string{"*"}, nil
	}
	var out []string
	for _, t := range list {
		if !slices.Contains(EventTypes, t) {
			return nil, Invalid("events", "Unknown event type %q.", truncate(t, 64))
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	slices.Sort(out)
	return out, nil
}

// Webhooks lists the endpoints.
func (s *Service) Webhooks(ctx context.Context, ac *AuthContext) ([]Webhook, error) {
	if err := RequireOperator(ac); err != nil {
		return nil, err
	}
	return s.Store.Webhooks(ctx)
}

// UpdateWebhook changes an endpoint. Enabling it again forgets its
// failures, so the 3 days start over.
func (s *Service) UpdateWebhook(ctx context.Context, ac *AuthContext, in WebhookInput) (Webhook, error) {
	if err := RequireOperator(ac); err != nil {
		return Webhook{}, err
	}
	var w Webhook
	err := s.Store.Tx(ctx, func(tx Store) error {
		var err error
		if w, err = webhookOf(ctx, tx, in.ID); err != nil {
			return err
		}
		if err := applyWebhookInput(&w, in); err != nil {
			return err
		}
		if in.Disabled != nil && *in.Disabled != w.Disabled() {
			if *in.Disabled {
				w.DisabledAt, w.DisabledReason = s.now(), "disabled by an operator"
			} else {
				w.DisabledAt, w.DisabledReason, w.FailingSince = time.Time{}, "", time.Time{}
			}
		}
		w.UpdatedAt = s.now()
		return tx.UpdateWebhook(ctx, w)
	})
	if err != nil {
		return Webhook{}, err
	}
	s.auditAdmin(ctx, ac, "admin.webhook.updated", w.ID, "", map[string]any{"url": w.URL, "events": w.Events, "disabled": w.Disabled()})
	return w, nil
}

func webhookOf(ctx context.Context, st Store, id string) (Webhook, error) {
	if id == "" {
		return Webhook{}, Invalid("id", "id is required.")
	}
	w, err := st.WebhookByID(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return Webhook{}, Errorf(CodeNotFound, "No such webhook.")
	}
	return w, err
}

// DeleteWebhook removes an endpoint and its pending deliveries.
func (s *Service) DeleteWebhook(ctx context.Context, ac *AuthContext, id string) error {
	if err := RequireOperator(ac); err != nil {
		return err
	}
	if _, err := webhookOf(ctx, s.Store, id); err != nil {
		return err
	}
	if err := s.Store.DeleteWebhook(ctx, id); errors.Is(err, ErrNotFound) {
		return Errorf(CodeNotFound, "No such webhook.")
	} else if err != nil {
		return err
	}
	s.auditAdmin(ctx, ac, "admin.webhook.deleted", id, "", nil)
	return nil
}

// RotateWebhookSecret makes a new secret the endpoint's first; the one
// before keeps signing for secretOverlap, so receivers can switch over.
func (s *Service) RotateWebhookSecret(ctx context.Context, ac *AuthContext, id string) (Webhook, string, error) {
	if err := RequireOperator(ac); err != nil {
		return Webhook{}, "", err
	}
	sec := webhook.NewSecret()
	var w Webhook
	err := s.Store.Tx(ctx, func(tx Store) error {
		var err error
		if w, err = webhookOf(ctx, tx, id); err != nil {
			return err
		}
		old, err := s.webhookSecrets(w)
		if err != nil {
			return err
		}
		now := s.now()
		list := []webhookSecret{{Secret: sec}}
		for _, o := range old {
			if o.Expires.IsZero() {
				o.Expires = now.Add(secretOverlap)
			}
			if o.Expires.After(now) {
				list = append(list, o)
			}
		}
		w.Secrets, w.UpdatedAt = s.sealWebhookSecrets(list), now
		return tx.UpdateWebhook(ctx, w)
	})
	if err != nil {
		return Webhook{}, "", err
	}
	s.auditAdmin(ctx, ac, "admin.webhook.secret_rotated", w.ID, "", nil)
	return w, sec, nil
}

func (s *Service) sealWebhookSecrets(list []webhookSecret) string {
	b, _ := json.Marshal(list)
	return sealString(s.Config.SecretKey, string(b))
}

// webhookSecrets opens an endpoint's secrets.
func (s *Service) webhookSecrets(w Webhook) ([]webhookSecret, error) {
	plain, err := openStored(s.Config.SecretKey, w.Secrets)
	if err != nil {
		return nil, fmt.Errorf("webhook %s secrets: %w", w.ID, err)
	}
	var list []webhookSecret
	if err := json.Unmarshal([]byte(plain), &list); err != nil {
		return nil, fmt.Errorf("webhook %s secrets: %w", w.ID, err)
	}
	return list, nil
}

// TestWebhook queues a webhook.test event for one endpoint, enabled or
// not: an operator may test an endpoint before enabling it again.
func (s *Service) TestWebhook(ctx context.Context, ac *AuthContext, id string) (Event, error) {
	if err := RequireOperator(ac); err != nil {
		return Event{}, err
	}
	w, err := webhookOf(ctx, s.Store, id)
	if err != nil {
		return Event{}, err
	}
	e, err := s.newEvent(EventWebhookTest, w.ID, map[string]any{"webhook_id": w.ID})
	if err != nil {
		return Event{}, err
	}
	if err := s.Store.AddEvent(ctx, e, w.ID); err != nil {
		return Event{}, err
	}
	s.auditAdmin(ctx, ac, "admin.webhook.tested", w.ID, "", map[string]any{"event_id": e.ID})
	return e, nil
}

// WebhookDeliveries lists an endpoint's deliveries, newest first, fifty
// at a time; cursor is the next_cursor of the page before.
func (s *Service) WebhookDeliveries(ctx context.Context, ac *AuthContext, webhookID, cursor string) ([]WebhookDelivery, string, error) {
	if err := RequireOperator(ac); err != nil {
		return nil, "", err
	}
	if _, err := webhookOf(ctx, s.Store, webhookID); err != nil {
		return nil, "", err
	}
	var before int64
	if cursor != "" {
		n, err := strconv.ParseInt(cursor, 10, 64)
		if err != nil || n <= 0 {
			return nil, "", Invalid("cursor", "cursor is not one this server gave.")
		}
		before = n
	}
	const limit = 50
	list, err := s.Store.WebhookDeliveries(ctx, webhookID, before, limit+1)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(list) > limit {
		list = list[:limit]
		next = strconv.FormatInt(list[limit-1].Seq, 10)
	}
	return list, next, nil
}

// WebhookQueue is the outbox as package webhook's worker drains it.
func (s *Service) WebhookQueue() webhook.Queue { return webhookQueue{s} }

type webhookQueue struct{ s *Service }

func (q webhookQueue) Depth(ctx context.Context) (int, error) {
	return q.s.Store.PendingDeliveries(ctx)
}

func (q webhookQueue) Claim(ctx context.Context, max int) ([]webhook.Message, error) {
	s := q.s
	now := s.now()
	claim := secret.ID("clm_")
	list, err := s.Store.ClaimDeliveries(ctx, claim, now, now.Add(claimLease), max)
	if err != nil {
		return nil, err
	}
	out := make([]webhook.Message, 0, len(list))
	for _, d := range list {
		secrets, err := s.webhookSecrets(Webhook{ID: d.WebhookID, Secrets: d.Secrets})
		if err != nil {
			// Unreadable secrets (a wrong server secret) cannot be fixed
			// by retrying now: record it as a failed attempt.
			s.Logger.ErrorContext(ctx, "webhook secrets unreadable", "webhook", d.WebhookID, "err", err)
			q.finish(ctx, d.WebhookDelivery, claim, webhook.Result{Error: "signing secret unreadable on this node"})
			continue
		}
		m := webhook.Message{
			Delivery: strconv.FormatInt(d.Seq, 10), Claim: claim, EventID: d.EventID, Type: d.Type,
			URL: d.URL, Body: d.Payload, Attempt: d.Attempts + 1, Created: d.CreatedAt,
		}
		for _, sec := range secrets {
			if sec.Expires.IsZero() || sec.Expires.After(now) {
				m.Secrets = append(m.Secrets, sec.Secret)
			}
		}
		out = append(out, m)
	}
	return out, nil
}

func (q webhookQueue) Finish(ctx context.Context, m webhook.Message, r webhook.Result) error {
	seq, err := strconv.ParseInt(m.Delivery, 10, 64)
	if err != nil {
		return fmt.Errorf("delivery handle %q: %w", m.Delivery, err)
	}
	d := WebhookDelivery{Seq: seq, EventID: m.EventID, Type: m.Type, Attempts: m.Attempt - 1, CreatedAt: m.Created}
	return q.finish(ctx, d, m.Claim, r)
}

// finish records one attempt of d (d.Attempts made before it) and keeps
// the endpoint's failure clock: the first failure after a success starts
// it, a success stops it, and a failure 3 days after it started disables
// the endpoint and tells the operators.
func (q webhookQueue) finish(ctx context.Context, d WebhookDelivery, claim string, r webhook.Result) error {
	s := q.s
	now := s.now()
	d.Attempts++
	d.ResponseStatus, d.Error, d.UpdatedAt = r.Status, truncate(r.Error, 500), now
	// The last attempt is made when the 3 days are up, so an endpoint
	// down for all of them is found failing then, and disabled.
	deadline := d.CreatedAt.Add(deliveryLifetime)
	switch {
	case r.Delivered:
		d.Status, d.Error = DeliveryDelivered, ""
	case !now.Before(deadline):
		d.Status = DeliveryFailed
	default:
		d.Status, d.NextAttemptAt = DeliveryPending, now.Add(retryDelay(d.Attempts))
		if d.NextAttemptAt.After(deadline) {
			d.NextAttemptAt = deadline
		}
	}
	var disabled Webhook
	err := s.Store.Tx(ctx, func(tx Store) error {
		id, err := tx.FinishDelivery(ctx, d, claim)
		if err != nil {
			return err
		}
		w, err := tx.WebhookByID(ctx, id)
		if errors.Is(err, ErrNotFound) {
			return nil // deleted meanwhile
		} else if err != nil {
			return err
		}
		switch {
		case r.Delivered && !w.FailingSince.IsZero():
			w.FailingSince = time.Time{}
		case r.Delivered:
			return nil
		case w.FailingSince.IsZero():
			// Failing since the event it could not take.
			w.FailingSince = d.CreatedAt
		case !w.Disabled() && now.Sub(w.FailingSince) >= deliveryLifetime:
			w.DisabledAt, w.DisabledReason = now, "every delivery failed for 3 days"
			disabled = w
		default:
			return nil
		}
		w.UpdatedAt = now
		return tx.UpdateWebhook(ctx, w)
	})
	if errors.Is(err, ErrNotFound) {
		return fmt.Errorf("claim on delivery %d lapsed", d.Seq)
	}
	if err != nil || disabled.ID == "" {
		return err
	}
	s.audit(ctx, AuditEvent{Action: "webhook.disabled", Target: disabled.ID, Data: jsonData(map[string]any{"url": disabled.URL, "error": d.Error})})
	ops, err := s.Store.UsersWithInstanceRole(ctx, InstanceRoleOperator)
	if err != nil {
		return err
	}
	if len(ops) == 0 {
		s.Logger.WarnContext(ctx, "webhook endpoint disabled after 3 days of failures; no operator account to email", "webhook", disabled.ID, "url", disabled.URL)
	}
	for _, op := range ops {
		data := map[string]string{"URL": disabled.URL, "WebhookID": disabled.ID,
			"Since": disabled.FailingSince.Format(time.RFC1123), "Error": d.Error}
		if err := s.Mailer.Send(ctx, op.Email, "webhook_disabled", data); err != nil {
			s.Logger.ErrorContext(ctx, "webhook disabled mail not sent", "to", op.ID, "err", err)
		}
	}
	return nil
}
