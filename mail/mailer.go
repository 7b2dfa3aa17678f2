package mail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"sync"
	"time"

	"github.com/latchkey/latchkey"
)

// Config tunes a Mailer. Zero values select the defaults.
type Config struct {
	// Logger receives delivery failures; default slog.Default().
	Logger *slog.Logger
	// RequestID extracts the id of the request that caused a mail from the
	// context given to Send, for the failure logs; default
	// latchkey.RequestID.
	RequestID func(context.Context) string
	// Attempts is how many deliveries are tried per message; default 4.
	Attempts int
	// Backoff is the wait before the second attempt, doubled before each
	// next one; default 2s (so 2s, 4s, 8s).
	Backoff time.Duration
	// AttemptTimeout bounds one delivery; default 30s.
	AttemptTimeout time.Duration
	// QueueSize is how many messages may wait; Send fails beyond; default 1024.
	QueueSize int
	// DrainTimeout is how long Close waits for queued messages; default 10s.
	DrainTimeout time.Duration
}

// Errors of Mailer.Send besides template errors.
var (
	ErrQueueFull = errors.New("mail: queue full")
	ErrClosed    = errors.New("mail: mailer closed")
)

// Mailer renders templated messages and delivers them in the background
// through a Sender, one at a time in the order queued. A failed delivery is
// logged and retried later with backoff, without holding up the messages
// behind it; a permanent refusal (ErrRejected) is not retried.
type Mailer struct {
	sender Sender
	cfg    Config
	queue  chan job

	ctx    context.Context // canceled when Close gives up draining
	cancel context.CancelFunc
	wg     sync.WaitGroup // the worker and the retry waits

	mu      sync.Mutex
	pending int             // queued, in flight or waiting to retry
	idle    []chan struct{} // closed when pending drops to zero
	closed  bool
}

type job struct {
	msg       Message
	template  string
	requestID string
	attempt   int // deliveries tried so far
}

// NewMailer starts a Mailer that delivers through s.
func NewMailer(s Sender, cfg Config) *Mailer {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.RequestID == nil {
		cfg.RequestID = latchkey.RequestID
	}
	if cfg.Attempts <= 0 {
		cfg.Attempts = 4
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = 2 * time.Second
	}
	if cfg.AttemptTimeout <= 0 {
		cfg.AttemptTimeout = 30 * time.Second
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 1024
	}
	if cfg.DrainTimeout <= 0 {
		cfg.DrainTimeout = 10 * time.Second
	}
	m := &Mailer{sender: s, cfg: cfg, queue: make(chan job, cfg.QueueSize)}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	m.wg.Add(1)
	go m.run()
	return m
}

// Send renders the named template for to and queues the message. It
// returns an error only for a bad recipient, an unknown template or one
// that fails on data, a full queue, or a closed Mailer; delivery itself
// happens later, and its failures are logged with the request id of ctx.
func (m *Mailer) Send(ctx context.Context, to, template string, data map[string]string) error {
	if _, err := mail.ParseAddress(to); err != nil {
		return fmt.Errorf("mail: recipient %q is not an email address", to)
	}
	msg, err := Render(to, template, data)
	if err != nil {
		return err
	}
	j := job{msg: msg, template: template, requestID: m.cfg.RequestID(ctx)}

	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return ErrClosed
	}
	m.pending++
	m.mu.Unlock()

	select {
	case m.queue <- j:
		return nil
	default:
		m.logger(j).Error("mail: queue full, message dropped")
		m.done()
		return ErrQueueFull
	}
}

// Flush waits until every message queued so far has been delivered or
// given up on, or until ctx ends.
func (m *Mailer) Flush(ctx context.Context) error {
	m.mu.Lock()
	if m.pending == 0 {
		m.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	m.idle = append(m.idle, ch)
	m.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops accepting messages, waits up to the drain timeout for the
// queued ones (retries included), then stops the worker and logs what it
// had to drop. It returns an error when messages were dropped.
func (m *Mailer) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	m.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), m.cfg.DrainTimeout)
	defer cancel()
	flushErr := m.Flush(ctx)
	m.cancel()
	m.wg.Wait()
	for {
		select {
		case j := <-m.queue:
			m.drop(j)
		default:
			if flushErr != nil {
				return fmt.Errorf("mail: messages dropped at shutdown: %w", flushErr)
			}
			return nil
		}
	}
}

func (m *Mailer) run() {
	defer m.wg.Done()
	for {
		select {
		case <-m.ctx.Done():
			return
		case j := <-m.queue:
			if m.ctx.Err() != nil {
				m.drop(j)
				continue
			}
			m.deliver(j)
		}
	}
}

func (m *Mailer) deliver(j job) {
	j.attempt++
	ctx, cancel := context.WithTimeout(latchkey.WithRequestID(m.ctx, j.requestID), m.cfg.AttemptTimeout)
	err := m.sender.Send(ctx, j.msg)
	cancel()
	if err == nil {
		m.done()
		return
	}
	log := m.logger(j).With("attempt", j.attempt, "err", err)
	if errors.Is(err, ErrRejected) || j.attempt >= m.cfg.Attempts || m.ctx.Err() != nil {
		log.Error("mail: delivery failed, giving up")
		m.done()
		return
	}
	delay := m.cfg.Backoff << (j.attempt - 1)
	log.Warn("mail: delivery failed, will retry", "retry_in", delay)
	m.wg.Add(1)
	go m.retryAfter(delay, j)
}

// retryAfter queues j again after delay, unless Close gives up first.
func (m *Mailer) retryAfter(delay time.Duration, j job) {
	defer m.wg.Done()
	t := time.NewTimer(delay)
	defer t.Stop()
	select {
	case <-t.C:
		select {
		case m.queue <- j:
			return
		case <-m.ctx.Done():
		}
	case <-m.ctx.Done():
	}
	m.drop(j)
}

func (m *Mailer) drop(j job) {
	m.logger(j).Error("mail: shutting down, message dropped")
	m.done()
}

func (m *Mailer) done() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pending--
	if m.pending == 0 {
		for _, ch := range m.idle {
			close(ch)
		}
		m.idle = nil
	}
}

func (m *Mailer) logger(j job) *slog.Logger {
	return m.cfg.Logger.With("request_id", j.requestID, "to", j.msg.To, "template", j.template)
}
