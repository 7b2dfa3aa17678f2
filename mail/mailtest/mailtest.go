// Package mailtest runs a real SMTP server in-process for tests: it listens
// on 127.0.0.1, optionally speaks STARTTLS or implicit TLS with a
// self-signed certificate and requires AUTH PLAIN, captures every message,
// decodes its MIME parts, and lets a test wait for the next message to an
// address.
package mailtest

import (
	"crypto/subtle"
	"crypto/tls"
	"io"
	"log"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/latchkey/latchkey/mail"
)

// Options choose what the server offers. The zero value is a plain SMTP
// server without TLS or authentication.
type Options struct {
	// STARTTLS offers the STARTTLS extension with a self-signed certificate.
	STARTTLS bool
	// ImplicitTLS speaks TLS from the first byte, as smtps:// expects.
	ImplicitTLS bool
	// Username and Password, when set, require AUTH PLAIN before MAIL.
	// Without TLS the server still offers AUTH, so that a test can check
	// that the client refuses to send a password in the clear.
	Username, Password string
	// Wait is how long Next waits for a message; default 10s.
	Wait time.Duration
}

// Server is a running SMTP server; it stops when the test ends.
type Server struct {
	opts   Options
	addr   string
	srv    *smtp.Server
	client *tls.Config // trusts the server's certificate

	mu       sync.Mutex
	msgs     []Message
	taken    []bool        // returned by Next already
	arrived  chan struct{} // closed and replaced on each arrival
	failures []int         // SMTP codes to answer the next DATA commands with
}

// Start starts a server on 127.0.0.1:0 and stops it with t.Cleanup.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	if opts.Wait <= 0 {
		opts.Wait = 10 * time.Second
	}
	s := &Server{opts: opts, arrived: make(chan struct{})}
	s.srv = smtp.NewServer(backend{s})
	s.srv.Domain = "mailtest.localhost"
	s.srv.ReadTimeout = 30 * time.Second
	s.srv.WriteTimeout = 30 * time.Second
	s.srv.MaxMessageBytes = 10 << 20
	s.srv.ErrorLog = log.New(io.Discard, "", 0)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("mailtest: listen: %v", err)
	}
	if opts.STARTTLS || opts.ImplicitTLS {
		serverTLS, clientTLS, err := selfSigned()
		if err != nil {
			t.Fatalf("mailtest: certificate: %v", err)
		}
		s.client = clientTLS
		if opts.ImplicitTLS {
			ln = tls.NewListener(ln, serverTLS)
		} else {
			s.srv.TLSConfig = serverTLS
		}
	} else {
		s.srv.AllowInsecureAuth = true
	}
	s.addr = ln.Addr().String()
	go func() { _ = s.srv.Serve(ln) }()
	t.Cleanup(func() { _ = s.srv.Close() })
	return s
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return s.addr }

// URL is the server's address in the form LATCHKEY_SMTP_URL takes,
// credentials included.
func (s *Server) URL() string {
	scheme := "smtp"
	if s.opts.ImplicitTLS {
		scheme = "smtps"
	}
	u := url.URL{Scheme: scheme, Host: s.addr}
	if s.opts.Username != "" {
		u.User = url.UserPassword(s.opts.Username, s.opts.Password)
	}
	return u.String()
}

// TLSConfig is a client configuration that trusts the server's
// certificate (nil when the server has no TLS).
func (s *Server) TLSConfig() *tls.Config {
	if s.client == nil {
		return nil
	}
	return s.client.Clone()
}

// Sender returns a mail.SMTP sender for this server, trusting its certificate.
func (s *Server) Sender(t testing.TB) *mail.SMTP {
	t.Helper()
	sender, err := mail.NewSMTP(s.URL(), "Latchkey <no-reply@latchkey.test>",
		mail.SMTPOptions{TLSConfig: s.TLSConfig(), Timeout: 10 * time.Second})
	if err != nil {
		t.Fatalf("mailtest: sender: %v", err)
	}
	return sender
}

// FailNext makes the server answer the next DATA commands with these SMTP
// codes, one code per message: a 4xx code is a transient failure, a 5xx
// code a permanent one.
func (s *Server) FailNext(codes ...int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = append(s.failures, codes...)
}

// Messages returns every message received so far.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.msgs)
}

// Next waits for the next message to the address to that no earlier call
// of Next returned, and fails the test if none comes within the wait.
func (s *Server) Next(t testing.TB, to string) Message {
	t.Helper()
	timeout := time.NewTimer(s.opts.Wait)
	defer timeout.Stop()
	for {
		s.mu.Lock()
		for i, m := range s.msgs {
			if !s.taken[i] && m.sentTo(to) {
				s.taken[i] = true
				s.mu.Unlock()
				return m
			}
		}
		arrived := s.arrived
		s.mu.Unlock()
		select {
		case <-arrived:
		case <-timeout.C:
			t.Fatalf("mailtest: no message to %s within %v", to, s.opts.Wait)
		}
	}
}

// NoMessage fails the test if a message to the address to has arrived
// that Next has not returned. Call it once every message that could have
// been sent has been handed over (for example after mail.Mailer.Flush, or
// after the Next of a message queued later by the same Mailer).
func (s *Server) NoMessage(t testing.TB, to string) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, m := range s.msgs {
		if !s.taken[i] && m.sentTo(to) {
			t.Fatalf("mailtest: unexpected message to %s: %q", to, m.Subject)
		}
	}
}

func (s *Server) receive(m Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.failures) > 0 {
		code := s.failures[0]
		s.failures = s.failures[1:]
		return &smtp.SMTPError{
			Code:         code,
			EnhancedCode: smtp.EnhancedCode{code / 100, 0, 0},
			Message:      "mailtest: failure " + strconv.Itoa(code) + " as asked",
		}
	}
	s.msgs = append(s.msgs, m)
	s.taken = append(s.taken, false)
	close(s.arrived)
	s.arrived = make(chan struct{})
	return nil
}

type backend struct{ s *Server }

func (b backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	_, tlsOn := c.TLSConnectionState()
	return &session{s: b.s, conn: c, tlsAtStart: tlsOn}, nil
}

// session is one SMTP connection; it implements smtp.AuthSession.
type session struct {
	s          *Server
	conn       *smtp.Conn
	tlsAtStart bool
	user       string
	from       string
	to         []string
}

func (ss *session) AuthMechanisms() []string {
	if ss.s.opts.Username == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (ss *session) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(identity, username, password string) error {
		userOK := subtle.ConstantTimeCompare([]byte(username), []byte(ss.s.opts.Username)) == 1
		passOK := subtle.ConstantTimeCompare([]byte(password), []byte(ss.s.opts.Password)) == 1
		if identity != "" && identity != username || !userOK || !passOK {
			return smtp.ErrAuthFailed
		}
		ss.user = username
		return nil
	}), nil
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if ss.s.opts.Username != "" && ss.user == "" {
		return smtp.ErrAuthRequired
	}
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m, err := parse(raw)
	if err != nil {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "mailtest: " + err.Error()}
	}
	_, tlsOn := ss.conn.TLSConnectionState()
	m.From, m.To, m.TLS, m.User = ss.from, slices.Clone(ss.to), tlsOn, ss.user
	return ss.s.receive(m)
}

func (ss *session) Reset() { ss.from, ss.to = "", nil }

func (ss *session) Logout() error { return nil }

func (m Message) sentTo(addr string) bool {
	for _, to := range m.To {
		if strings.EqualFold(to, addr) {
			return true
		}
	}
	return false
}
