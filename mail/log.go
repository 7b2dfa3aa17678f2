package mail

import (
	"context"
	"log/slog"
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
	logger.InfoContext(ctx, "email (not sent: no SMTP server configured)",
		"to", m.To, "subject", m.Subject, "text", m.Text)
	return nil
}
