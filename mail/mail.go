// Package mail renders Latchkey's emails from embedded templates and
// delivers them in the background, over SMTP or, in development, to the log.
//
// The domain hands a Mailer a recipient, a template name and its data; the
// Mailer renders the text and HTML bodies at once (so a template error is
// the caller's error) and queues the message. A worker delivers it through
// a Sender, retrying transient failures with backoff, so a slow or broken
// mail server never delays or fails the request that caused the mail.
package mail

import (
	"context"
	"errors"
)

// Message is one rendered email, ready for a Sender.
type Message struct {
	To      string
	Subject string
	Text    string
	HTML    string
}

// Sender delivers one message now. Implementations: SMTP and Log.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// ErrRejected marks a delivery failure that retrying cannot fix, such as a
// permanent (5xx) refusal by the mail server. The Mailer does not retry it.
var ErrRejected = errors.New("mail: rejected")
