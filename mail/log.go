package mail

import (
	"context"
	"log/slog"

	"github.com/latchkey/latchkey"
)

// Log is the Sender used when no SMTP server is configured: it writes each
// message, text body included, to a logger, so that a developer running
// `latchkey serve` can read verification codes and links from the log.
// Never use it in production: the log then holds live secrets.
type Log struct {
	Logger *slog.Logger
}

// Send writes m to the logger; it never fails.
func (l Log) Send(ctx context.Context, m Message) error {
	logger := l.Logger
	if logger == nil {
		logger = slog.Default()
	}
	attrs := []any{"to", m.To, "subject", m.Subject, "text", m.Text}
	if id := latchkey.RequestID(ctx); id != "" { // set by the Mailer: the request that caused the mail
		attrs = append(attrs, "request_id", id)
	}
	logger.InfoContext(ctx, "email (not sent: no SMTP server configured)", attrs...)
	return nil
}
