// Package server is the HTTPS server of `kubeharden serve`: one listener,
// TLS 1.2 or later with a certificate reloaded from disk when it changes,
// /healthz and /readyz, a request size limit, read and write timeouts and
// a graceful shutdown. Components (the admission webhook, and later the
// audit webhook, the in-cluster scanner, metrics) register their handlers
// and readiness checks on it; the server knows none of them.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults for Options left zero.
const (
	DefaultMaxRequestBytes   = 8 << 20 // two 1.5 MiB objects (UPDATE) and the review around them
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultReadTimeout       = 30 * time.Second
	DefaultWriteTimeout      = 30 * time.Second // the API server waits for a webhook at most 30 s
	DefaultIdleTimeout       = 120 * time.Second
	DefaultShutdownTimeout   = 15 * time.Second
)

// Options configure a server.
type Options struct {
	// Addr is the address to listen on, e.g. ":8443".
	Addr string
	// CertFile and KeyFile are the PEM serving certificate (with its chain)
	// and private key. Both are read again when either file changes.
	CertFile, KeyFile string
	// MaxRequestBytes bounds request bodies; larger requests get 413.
	MaxRequestBytes int64

	ReadHeaderTimeout, ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	// ShutdownTimeout bounds the graceful shutdown: requests still running
	// after it are cut.
	ShutdownTimeout time.Duration
	// Log receives the server's messages (default: discarded).
	Log *slog.Logger
}

// Server is an HTTPS server for kubeharden's components.
type Server struct {
	opts  Options
	mux   *http.ServeMux
	certs *CertReloader

	mu          sync.Mutex
	checks      map[string]func() error
	stopping    atomic.Bool
	clientCerts atomic.Bool
	addr        chan net.Addr
}

// New loads the certificate (a server that cannot serve TLS fails here,
// not on its first connection) and returns a server with /healthz and
// /readyz registered.
func New(opts Options) (*Server, error) {
	if opts.CertFile == "" || opts.KeyFile == "" {
		return nil, errors.New("a TLS certificate and private key are required")
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&opts.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	def(&opts.ReadTimeout, DefaultReadTimeout)
	def(&opts.WriteTimeout, DefaultWriteTimeout)
	def(&opts.IdleTimeout, DefaultIdleTimeout)
	def(&opts.ShutdownTimeout, DefaultShutdownTimeout)
	if opts.MaxRequestBytes <= 0 {
		opts.MaxRequestBytes = DefaultMaxRequestBytes
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	certs, err := NewCertReloader(opts.CertFile, opts.KeyFile, opts.Log)
	if err != nil {
		return nil, err
	}
	s := &Server{opts: opts, mux: http.NewServeMux(), certs: certs, checks: map[string]func() error{}, addr: make(chan net.Addr, 1)}
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	s.mux.HandleFunc("GET /readyz", s.readyz)
	return s, nil
}

// Handle registers a component's handler (a net/http ServeMux pattern,
// e.g. "POST /validate"). Every request body is limited to
// MaxRequestBytes: reading past it fails with an *http.MaxBytesError.
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// AddReadyCheck adds a readiness condition: /readyz answers 503 while
// check returns an error. Components add one for each thing they need
// before they can answer (the compiled engine...).
func (s *Server) AddReadyCheck(name string, check func() error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.checks[name] = check
}

// Ready returns nil when every readiness check passes and the server is
// not shutting down.
func (s *Server) Ready() error {
	if s.stopping.Load() {
		return errors.New("shutting down")
	}
	s.mu.Lock()
	names := make([]string, 0, len(s.checks))
	for n := range s.checks {
		names = append(names, n)
	}
	s.mu.Unlock()
	sort.Strings(names)
	var failed []string
	for _, n := range names {
		s.mu.Lock()
		c := s.checks[n]
		s.mu.Unlock()
		if err := c(); err != nil {
			failed = append(failed, n+": "+err.Error())
		}
	}
	if len(failed) > 0 {
		return errors.New(strings.Join(failed, "; "))
	}
	return nil
}

func (s *Server) readyz(w http.ResponseWriter, _ *http.Request) {
	if err := s.Ready(); err != nil {
		http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintln(w, "ok")
}

// Addr returns the address the server listens on, once it does (useful
// with port 0); it waits for ctx otherwise.
func (s *Server) Addr(ctx context.Context) (net.Addr, error) {
	select {
	case a := <-s.addr:
		s.addr <- a
		return a, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// RequestClientCerts makes the server ask clients for a certificate
// (call it before Run). The server verifies none: a client without one
// still connects, and a component that authenticates its callers by
// certificate (the audit webhook) verifies the chain itself, against its
// own CA, from the request's TLS state.
func (s *Server) RequestClientCerts() { s.clientCerts.Store(true) }

// TLSConfig is the server's TLS configuration: TLS 1.2 or later, the
// certificate from the reloader, and client certificates requested when
// a component asked for them.
func (s *Server) TLSConfig() *tls.Config {
	c := &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: s.certs.GetCertificate,
		NextProtos:     []string{"h2", "http/1.1"},
	}
	if s.clientCerts.Load() {
		c.ClientAuth = tls.RequestClientCert
	}
	return c
}

// Run listens on Options.Addr and serves until ctx is done, then shuts
// down gracefully: /readyz fails at once, new connections are refused,
// running requests get ShutdownTimeout to finish.
func (s *Server) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.opts.Addr)
	if err != nil {
		return err
	}
	return s.Serve(ctx, ln)
}

// Serve is Run on a listener of the caller's.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s.limit(s.mux),
		TLSConfig:         s.TLSConfig(),
		ReadHeaderTimeout: s.opts.ReadHeaderTimeout,
		ReadTimeout:       s.opts.ReadTimeout,
		WriteTimeout:      s.opts.WriteTimeout,
		IdleTimeout:       s.opts.IdleTimeout,
		MaxHeaderBytes:    1 << 16,
		ErrorLog:          slog.NewLogLogger(s.opts.Log.Handler(), slog.LevelDebug),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	s.addr <- ln.Addr()
	s.opts.Log.Info("serving", "address", ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(tls.NewListener(ln, hs.TLSConfig)) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.stopping.Store(true)
	s.opts.Log.Info("shutting down", "timeout", s.opts.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), s.opts.ShutdownTimeout)
	defer cancel()
	err := hs.Shutdown(sctx)
	if errors.Is(err, context.DeadlineExceeded) {
		hs.Close()
		err = fmt.Errorf("requests still running after the %s shutdown timeout were cut", s.opts.ShutdownTimeout)
	}
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}

// limit refuses bodies declared larger than the limit and caps the rest.
func (s *Server) limit(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > s.opts.MaxRequestBytes {
			http.Error(w, fmt.Sprintf("request body of %d bytes exceeds the limit of %d bytes", r.ContentLength, s.opts.MaxRequestBytes), http.StatusRequestEntityTooLarge)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, s.opts.MaxRequestBytes)
		h.ServeHTTP(w, r)
	})
}
