// Package server is Latchkey's HTTP layer: the JSON RPC API of the
// contract under /v1/, cookies, CSRF and CORS, the JWKS, health and
// metrics endpoints, the OpenAPI document and the built-in pages. It
// decodes, calls the domain, and encodes; flows live in package latchkey.
package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/latchkey/latchkey"
	"github.com/latchkey/latchkey/oauth"
	"github.com/latchkey/latchkey/sso"
)

// Config is what the server needs; cmd/latchkey fills it.
type Config struct {
	Service      *latchkey.Service
	Logger       *slog.Logger
	PublicURL    string
	DashboardURL string
	// CORSOrigins are extra browser origins allowed to call the API with
	// credentials, besides the public and dashboard origins.
	CORSOrigins []string
	// SSOAllowPrivateNetworks lets SSO connections point at loopback,
	// private and link-local addresses (development, or IdPs on the
	// operator's own network). Org admins are untrusted: keep it off on a
	// deployment where anyone can sign up.
	SSOAllowPrivateNetworks bool
	// OAuth holds the enabled identity providers; nil means none.
	OAuth *oauth.Registry
	// Collectors are more Prometheus series for /metrics (the webhook
	// worker's).
	Collectors []prometheus.Collector
}

// Server serves the API. Create it with New.
type Server struct {
	cfg     Config
	svc     *latchkey.Service
	log     *slog.Logger
	ops     map[string]operation
	list    []operation
	mux     *http.ServeMux
	origins []string // allowed browser origins
	secure  bool     // cookies get Secure
	metrics *metrics
	openapi []byte
	sso     ssoState
}

// New builds the server and its routes.
func New(cfg Config) (*Server, error) {
	s := &Server{cfg: cfg, svc: cfg.Service, log: cfg.Logger, ops: map[string]operation{}, mux: http.NewServeMux()}
	s.sso.client = sso.NewHTTPClient(cfg.SSOAllowPrivateNetworks)
	if s.log == nil {
		s.log = slog.Default()
	}
	pub, err := url.Parse(cfg.PublicURL)
	if err != nil || pub.Host == "" {
		return nil, errors.New("server: PublicURL must be an absolute URL")
	}
	s.secure = pub.Scheme == "https"
	for _, o := range append([]string{cfg.PublicURL, cfg.DashboardURL}, cfg.CORSOrigins...) {
		if origin := originOf(o); origin != "" && !slices.Contains(s.origins, origin) {
			s.origins = append(s.origins, origin)
		}
	}
	s.list = s.operations()
	for _, op := range s.list {
		if _, dup := s.ops[op.Name]; dup {
			return nil, errors.New("server: operation declared twice: " + op.Name)
		}
		s.ops[op.Name] = op
	}
	s.metrics = newMetrics()
	if err := registerAll(s.metrics.reg, cfg.Collectors); err != nil {
		return nil, err
	}
	if s.openapi, err = s.buildOpenAPI(); err != nil {
		return nil, err
	}
	s.mux.HandleFunc("/v1/{op}", s.serveRPC)
	s.routes(s.mux)
	return s, nil
}

// originOf returns scheme://host[:port] of a URL, or "".
func originOf(raw string) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Scheme == "" || u.Host == "" {
		return ""
	}
	return strings.ToLower(u.Scheme + "://" + u.Host)
}

// ServeHTTP gives every response a request id, security headers, CORS for
// allowed origins, a log line and metrics.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	id := newRequestID()
	label := new(string)
	r = r.WithContext(context.WithValue(latchkey.WithRequestID(r.Context(), id), opLabelKey{}, label))
	rec := &recorder{ResponseWriter: w, status: http.StatusOK}
	h := rec.Header()
	h.Set("X-Request-Id", id)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	if s.cors(rec, r) {
		return
	}
	defer func() {
		if p := recover(); p != nil {
			s.log.ErrorContext(r.Context(), "panic", "panic", p)
			if !rec.wrote {
				s.writeError(rec, r, errors.New("panic"))
			}
		}
		if *label == "" {
			*label = "unmatched"
		}
		s.metrics.observe(*label, rec.status, time.Since(start))
		s.log.InfoContext(r.Context(), "request", "method", r.Method, "path", r.URL.Path, "op", *label, "status", rec.status, "duration_ms", float64(time.Since(start).Microseconds())/1000)
	}()
	s.mux.ServeHTTP(rec, r)
}

// opLabelKey holds a *string naming the route for logs and metrics, set
// once routing knows it; unknown paths stay "unmatched" so the metric's
// cardinality is bounded.
type opLabelKey struct{}

func setLabel(r *http.Request, name string) {
	if label, ok := r.Context().Value(opLabelKey{}).(*string); ok {
		*label = name
	}
}

// handle registers a non-RPC route, labelled by its pattern.
func (s *Server) handle(mux *http.ServeMux, pattern string, h http.HandlerFunc) {
	mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		setLabel(r, pattern)
		h(w, r)
	})
}

// cors answers preflights and adds CORS headers for allowed origins; it
// reports whether the request was a preflight it answered.
func (s *Server) cors(w http.ResponseWriter, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	allowed := origin != "" && s.originAllowed(origin)
	if allowed {
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Allow-Credentials", "true")
		h.Add("Vary", "Origin")
	}
	if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
		if allowed {
			h := w.Header()
			h.Set("Access-Control-Allow-Methods", "GET, POST")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
			h.Set("Access-Control-Max-Age", "600")
		}
		w.WriteHeader(http.StatusNoContent)
		return true
	}
	return false
}

func (s *Server) originAllowed(origin string) bool {
	return slices.Contains(s.origins, strings.ToLower(origin))
}

func newRequestID() string {
	var b [12]byte
	rand.Read(b[:])
	return "req_" + hex.EncodeToString(b[:])
}

func requestID(r *http.Request) string { return latchkey.RequestID(r.Context()) }

// recorder remembers the status for logs and metrics.
type recorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (r *recorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.ResponseWriter.Write(b)
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// serveRPC runs one operation of /v1/.
func (s *Server) serveRPC(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("op")
	op, ok := s.ops[name]
	if !ok {
		s.writeError(w, r, latchkey.Errorf(latchkey.CodeNotFound, "There is no operation %q.", truncateName(name)))
		return
	}
	setLabel(r, name)
	allow := "POST"
	if op.Read {
		allow = "GET, POST"
	}
	if op.browser != nil {
		// Not even HEAD: a link checker's HEAD must not spend a single-use token.
		if r.Method != http.MethodGet {
			w.Header().Set("Allow", "GET")
			s.writeError(w, r, &latchkey.Error{Code: codeMethodNotAllowed, Message: "Use GET for " + name + "."})
			return
		}
		op.browser(w, r)
		return
	}
	if r.Method != http.MethodPost && !(op.Read && (r.Method == http.MethodGet || r.Method == http.MethodHead)) {
		w.Header().Set("Allow", allow)
		s.writeError(w, r, &latchkey.Error{Code: codeMethodNotAllowed, Message: "Use " + allow + " for " + name + "."})
		return
	}
	// A browser on a foreign site may not POST here without a bearer
	// credential: a form that signs the visitor in to the attacker's
	// account (login CSRF) carries no cookie to check. Browsers always
	// send Origin on cross-site POSTs; SDKs and curl send none. A request
	// with an Authorization header is exempt: no cross-site page can set
	// that header (the CORS preflight it needs is refused to foreign
	// origins), and backends that forward a browser's headers with their
	// own bearer token must work (contract §2: the CSRF rule is for
	// cookies). Cookie requests still pass checkCSRF.
	if origin := r.Header.Get("Origin"); r.Method == http.MethodPost && origin != "" && r.Header.Get("Authorization") == "" && !s.originAllowed(origin) {
		s.writeError(w, r, latchkey.Errorf(latchkey.CodeCSRFRejected, "Requests from this origin are not allowed."))
		return
	}
	var body []byte
	if r.Method == http.MethodPost && !op.ignoreBody {
		var err error
		body, err = io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.writeError(w, r, &latchkey.Error{Code: codeTooLarge, Message: "The request body is larger than 64 KiB."})
			return
		} else if err != nil {
			s.writeError(w, r, latchkey.Invalid("", "The request body could not be read."))
			return
		}
	}
	c := &call{ctx: r.Context(), w: w, r: r, s: s, meta: requestMeta(r)}
	if err := s.authenticate(c, op); err != nil {
		s.writeError(w, r, err)
		return
	}
	res, err := op.serve(c, body)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func truncateName(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// maxUserAgent bounds the User-Agent kept with sessions and audit events.
const maxUserAgent = 512

// requestMeta is who is asking, as flows record it. The User-Agent is
// made valid UTF-8 (HTTP allows other bytes; PostgreSQL text does not)
// and cut to maxUserAgent bytes.
func requestMeta(r *http.Request) latchkey.Meta {
	ua := r.UserAgent()
	if len(ua) > maxUserAgent {
		ua = ua[:maxUserAgent]
	}
	return latchkey.Meta{IP: clientIP(r), UserAgent: strings.ToValidUTF8(ua, "\uFFFD")}
}

// clientIP is the peer address. Behind a proxy every client shares its
// address; see docs/operations.md.
func clientIP(r *http.Request) string {
	host := r.RemoteAddr
	if i := strings.LastIndexByte(host, ':'); i >= 0 {
		host = host[:i]
	}
	return strings.Trim(host, "[]")
}
