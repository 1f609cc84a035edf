package node

import (
	"context"
	"crypto/subtle"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Server is the HTTP server every role runs: the role's handlers plus
// GET /healthz, GET /metrics and the admin endpoints under /admin/, which
// need the run's secret as a bearer token.
type Server struct {
	Mux     *http.ServeMux
	Metrics *prometheus.Registry
	Events  *Events
	Log     *slog.Logger
	secret  string
	healthy func() error
	checks  []func() error
	started time.Time

	draining atomic.Bool
	drainMu  sync.Mutex
	onDrain  []func()
}

// NewServer builds the shared endpoints. healthy, when not nil, is asked
// by /healthz (an error answers 503 with its text).
func NewServer(cfg *Config, log *slog.Logger, clock Clock, healthy func() error) *Server {
	if log == nil {
		log = slog.Default()
	}
	s := &Server{Mux: http.NewServeMux(), Metrics: prometheus.NewRegistry(), Events: NewEvents(cfg.Instance, clock), Log: log, secret: cfg.Secret, healthy: healthy, started: time.Now()}
	s.Metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.Mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if s.draining.Load() {
			http.Error(w, "draining", http.StatusServiceUnavailable)
			return
		}
		if s.healthy != nil {
			if err := s.healthy(); err != nil {
				http.Error(w, err.Error(), http.StatusServiceUnavailable)
				return
			}
		}
		for _, check := range s.checks {
			if err := check(); err != nil {
				http.Error(w, err.Error(), http.StatusServiceUnavailable)
				return
			}
		}
		w.Write([]byte("ok\n"))
	})
	s.Mux.Handle("GET /metrics", promhttp.HandlerFor(s.Metrics, promhttp.HandlerOpts{}))
	s.Admin("GET /admin/events", s.Events.serve)
	s.Admin("POST /admin/drain", s.serveDrain)
	return s
}

// AddCheck adds a check /healthz asks after the role's readiness (a
// machine supervisor is healthy only when its children are). Call it from
// a StartFunc, before the server serves.
func (s *Server) AddCheck(check func() error) { s.checks = append(s.checks, check) }

// Admin registers an admin handler guarded by the run's secret.
func (s *Server) Admin(pattern string, h http.HandlerFunc) {
	s.Mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if !s.Authorized(r) {
			http.Error(w, "admin: want Authorization: Bearer <run secret>", http.StatusUnauthorized)
			return
		}
		h(w, r)
	})
}

// Authorized reports whether r carries the run's secret.
func (s *Server) Authorized(r *http.Request) bool {
	got := r.Header.Get("Authorization")
	want := "Bearer " + s.secret
	return s.secret != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// Serve listens on addr and serves until ctx ends, then shuts down within
// grace. It returns once the listener is closed.
func (s *Server) Serve(ctx context.Context, addr string, grace time.Duration) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return s.ServeListener(ctx, ln, grace)
}

// ServeListener serves on an open listener (tests pass their own).
func (s *Server) ServeListener(ctx context.Context, ln net.Listener, grace time.Duration) error {
	hs := &http.Server{Handler: s.Mux, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 2 * time.Minute}
	done := make(chan error, 1)
	go func() { done <- hs.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	err := hs.Shutdown(sctx)
	<-done
	if errors.Is(err, context.DeadlineExceeded) {
		hs.Close()
		return nil
	}
	return err
}
