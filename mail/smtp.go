package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"strconv"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// SMTP delivers messages to an SMTP server with wneessen/go-mail.
//
// An smtp:// URL upgrades the connection with STARTTLS whenever the server
// offers it (and fails rather than continue in the clear if that upgrade
// fails); an smtps:// URL speaks TLS from the first byte. Credentials in the
// URL are sent with the strongest mechanism the server offers, and a
// plain-text mechanism only over TLS.
type SMTP struct {
	host     string
	port     int
	implicit bool // smtps://
	user     string
	pass     string
	from     string
	tls      *tls.Config
	timeout  time.Duration
}

// SMTPOptions holds the optional settings of NewSMTP.
type SMTPOptions struct {
	// TLSConfig replaces the default TLS settings (system roots, server name
	// from the URL). Tests use it to trust their own CA. Verification is
	// skipped only if it sets InsecureSkipVerify itself.
	TLSConfig *tls.Config
	// Timeout bounds connecting and each SMTP command; default 15s.
	Timeout time.Duration
}

// Default ports when the URL names none.
const (
	submissionPort  = 587 // smtp:// (RFC 6409 message submission)
	submissionsPort = 465 // smtps:// (RFC 8314 implicit TLS)
)

// NewSMTP returns a Sender for rawURL, of the form
// smtp://[user[:password]@]host[:port] or smtps://..., sending as from
// (an address, optionally with a display name: "Latchkey <no-reply@example.com>").
func NewSMTP(rawURL, from string, opts SMTPOptions) (*SMTP, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, errors.New("mail: SMTP URL does not parse")
	}
	s := &SMTP{host: u.Hostname(), from: from, timeout: opts.Timeout}
	switch u.Scheme {
	case "smtp":
		s.port = submissionPort
	case "smtps":
		s.port, s.implicit = submissionsPort, true
	default:
		return nil, fmt.Errorf("mail: SMTP URL scheme must be smtp or smtps, not %q", u.Scheme)
	}
	if s.host == "" {
		return nil, errors.New("mail: SMTP URL has no host")
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("mail: SMTP URL port %q is not a port", p)
		}
		s.port = n
	}
	if u.Path != "" && u.Path != "/" || u.RawQuery != "" {
		return nil, errors.New("mail: SMTP URL takes no path or query")
	}
	if u.User != nil {
		s.user = u.User.Username()
		s.pass, _ = u.User.Password()
	}
	if _, err := mail.ParseAddress(from); err != nil {
		return nil, fmt.Errorf("mail: sender address %q is not an email address", from)
	}
	if opts.TLSConfig != nil {
		s.tls = opts.TLSConfig.Clone()
	} else {
		s.tls = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if s.tls.ServerName == "" {
		s.tls.ServerName = s.host
	}
	if s.timeout <= 0 {
		s.timeout = 15 * time.Second
	}
	return s, nil
}

// Send delivers m over a fresh connection. A permanent refusal by the
// server (a 5xx reply) is wrapped in ErrRejected.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	msg := gomail.NewMsg()
	if err := msg.From(s.from); err != nil {
		return fmt.Errorf("mail: sender: %w", err)
	}
	if err := msg.To(m.To); err != nil {
		return fmt.Errorf("%w: recipient: %w", ErrRejected, err)
	}
	msg.Subject(m.Subject)
	msg.SetDate()
	msg.SetMessageID()
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}

	// A client per message: go-mail's Client holds one connection's state
	// and is not meant to be shared by concurrent sends.
	c, err := gomail.NewClient(s.host, s.clientOptions()...)
	if err != nil {
		return fmt.Errorf("mail: %w", err)
	}
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		var se *gomail.SendError
		if errors.As(err, &se) && se.ErrorCode() >= 500 && !se.IsTemp() {
			return fmt.Errorf("%w: %w", ErrRejected, err)
		}
		return fmt.Errorf("mail: smtp %s:%d: %w", s.host, s.port, err)
	}
	return nil
}

func (s *SMTP) clientOptions() []gomail.Option {
	opts := []gomail.Option{
		gomail.WithPort(s.port),
		gomail.WithTimeout(s.timeout),
		gomail.WithTLSConfig(s.tls),
	}
	if s.implicit {
		opts = append(opts, gomail.WithSSL())
	} else {
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	}
	if s.user != "" {
		opts = append(opts,
			gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(s.user),
			gomail.WithPassword(s.pass))
	}
	return opts
}

// String describes the server without its credentials.
func (s *SMTP) String() string {
	scheme := "smtp"
	if s.implicit {
		scheme = "smtps"
	}
	return fmt.Sprintf("%s://%s:%d", scheme, s.host, s.port)
}
