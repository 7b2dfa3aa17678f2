package server

import (
	"strconv"
	"time"

	"github.com/latchkey/latchkey"
)

// Webhooks (contract §9): operators' endpoints and their deliveries. The
// sending itself is package webhook's worker.

type webhookJSON struct {
	ID             string     `json:"id"`
	URL            string     `json:"url"`
	Events         []string   `json:"events"`
	Description    string     `json:"description"`
	CreatedAt      time.Time  `json:"created_at"`
	Disabled       bool       `json:"disabled"`
	DisabledAt     *time.Time `json:"disabled_at"`
	DisabledReason string     `json:"disabled_reason"`
	FailingSince   *time.Time `json:"failing_since"`
}

func toWebhookJSON(w latchkey.Webhook) webhookJSON {
	return webhookJSON{ID: w.ID, URL: w.URL, Events: w.Events, Description: w.Description, CreatedAt: w.CreatedAt,
		Disabled: w.Disabled(), DisabledAt: optTime(w.DisabledAt), DisabledReason: w.DisabledReason, FailingSince: optTime(w.FailingSince)}
}

type webhookCreateRequest struct {
	URL         string   `json:"url"`
	Events      []string `json:"events,omitempty"`
	Description string   `json:"description,omitempty"`
}

type webhookUpdateRequest struct {
	ID          string   `json:"id"`
	URL         *string  `json:"url,omitempty"`
	Events      []string `json:"events,omitempty"`
	Description *string  `json:"description,omitempty"`
	Disabled    *bool    `json:"disabled,omitempty"`
}

type webhookSecretResponse struct {
	Webhook webhookJSON `json:"webhook"`
	Secret  string      `json:"secret"`
}

type webhookResponse struct {
	Webhook webhookJSON `json:"webhook"`
}

type webhookListResponse struct {
	Webhooks []webhookJSON `json:"webhooks"`
}

type deliveriesRequest struct {
	WebhookID string `json:"webhook_id"`
	Cursor    string `json:"cursor,omitempty"`
}

type deliveryJSON struct {
	ID             string     `json:"id"`
	EventID        string     `json:"event_id"`
	Type           string     `json:"type"`
	Attempt        int        `json:"attempt"`
	Status         string     `json:"status"`
	ResponseStatus *int       `json:"response_status"`
	Error          string     `json:"error"`
	CreatedAt      time.Time  `json:"created_at"`
	NextAttemptAt  *time.Time `json:"next_attempt_at"`
}

type deliveriesResponse struct {
	Deliveries []deliveryJSON `json:"deliveries"`
	NextCursor *string        `json:"next_cursor"`
}

type webhookTestResponse struct {
	EventID string `json:"event_id"`
}

func (s *Server) webhookOps() []operation {
	return []operation{
		rpc("admin.webhooks.create", authAdmin, "Register a webhook endpoint; the response holds its signing secret, shown only this once (operators).",
			func(c *call, req webhookCreateRequest) (webhookSecretResponse, error) {
				w, sec, err := s.svc.CreateWebhook(c.ctx, c.auth, latchkey.WebhookInput{URL: &req.URL, Events: req.Events, Description: &req.Description})
				return webhookSecretResponse{toWebhookJSON(w), sec}, err
			}),
		rpc("admin.webhooks.list", authAdmin, "Every webhook endpoint (operators).",
			func(c *call, _ empty) (webhookListResponse, error) {
				list, err := s.svc.Webhooks(c.ctx, c.auth)
				out := webhookListResponse{Webhooks: []webhookJSON{}}
				for _, w := range list {
					out.Webhooks = append(out.Webhooks, toWebhookJSON(w))
				}
				return out, err
			}),
		rpc("admin.webhooks.update", authAdmin, "Change an endpoint's URL, events or description, or disable and enable it (operators).",
			func(c *call, req webhookUpdateRequest) (webhookResponse, error) {
				w, err := s.svc.UpdateWebhook(c.ctx, c.auth, latchkey.WebhookInput{ID: req.ID, URL: req.URL, Events: req.Events, Description: req.Description, Disabled: req.Disabled})
				return webhookResponse{toWebhookJSON(w)}, err
			}),
		rpc("admin.webhooks.delete", authAdmin, "Delete an endpoint and its pending deliveries (operators).",
			func(c *call, req idRequest) (empty, error) {
				return empty{}, s.svc.DeleteWebhook(c.ctx, c.auth, req.ID)
			}),
		rpc("admin.webhooks.rotate_secret", authAdmin, "Give an endpoint a new signing secret; the old one keeps signing for 24 hours (operators).",
			func(c *call, req idRequest) (webhookSecretResponse, error) {
				w, sec, err := s.svc.RotateWebhookSecret(c.ctx, c.auth, req.ID)
				return webhookSecretResponse{toWebhookJSON(w), sec}, err
			}),
		rpc("admin.webhooks.deliveries.list", authAdmin, "An endpoint's deliveries, newest first, 50 a page (operators).",
			func(c *call, req deliveriesRequest) (deliveriesResponse, error) {
				list, next, err := s.svc.WebhookDeliveries(c.ctx, c.auth, req.WebhookID, req.Cursor)
				out := deliveriesResponse{Deliveries: []deliveryJSON{}}
				if next != "" {
					out.NextCursor = &next
				}
				for _, d := range list {
					out.Deliveries = append(out.Deliveries, toDeliveryJSON(d))
				}
				return out, err
			}),
		rpc("admin.webhooks.test", authAdmin, "Send a webhook.test event to one endpoint (operators).",
			func(c *call, req idRequest) (webhookTestResponse, error) {
				e, err := s.svc.TestWebhook(c.ctx, c.auth, req.ID)
				return webhookTestResponse{e.ID}, err
			}),
	}
}

func toDeliveryJSON(d latchkey.WebhookDelivery) deliveryJSON {
	out := deliveryJSON{ID: "whd_" + strconv.FormatInt(d.Seq, 10), EventID: d.EventID, Type: d.Type, Attempt: d.Attempts,
		Status: d.Status, Error: d.Error, CreatedAt: d.CreatedAt}
	if d.ResponseStatus != 0 {
		out.ResponseStatus = &d.ResponseStatus
	}
	if d.Status == latchkey.DeliveryPending {
		out.NextAttemptAt = &d.NextAttemptAt
	}
	return out
}
