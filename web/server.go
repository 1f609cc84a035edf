package web

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path"
	"strings"
	"time"

	"github.com/stripelab/stripelab/reports"
	"github.com/stripelab/stripelab/scenarios"
	"github.com/stripelab/stripelab/sim"
)

// DefaultAddr is where `stripelab serve` listens unless told otherwise:
// loopback only, so that the playground's runs are not offered to the
// network.
const DefaultAddr = "127.0.0.1:8080"

// Defaults of the Config limits.
const (
	DefaultMaxBodyBytes   = 1 << 20
	DefaultMaxJobs        = 2
	DefaultMaxRunDuration = 30 * time.Minute
	DefaultMaxRunWall     = 2 * time.Minute
)

// Backend runs a plan for the playground and returns what it measured;
// progress is called with the run time reached and the run's end (ns).
// When ctx is cancelled it returns what was measured so far, marked
// incomplete, with ctx's error.
type Backend func(ctx context.Context, p *scenarios.Plan, seed uint64, progress func(now, end int64)) (*reports.Result, error)

// SimBackend is the simulator, the one backend the playground always
// offers: the same sim.Run as `stripelab run`.
func SimBackend(ctx context.Context, p *scenarios.Plan, seed uint64, progress func(now, end int64)) (*reports.Result, error) {
	return sim.Run(ctx, p, sim.Options{Seed: seed, Progress: progress})
}

// Config is what a Server serves and the limits of its playground.
type Config struct {
	// Results is the folder of results to serve; the playground writes its
	// runs under Results/playground.
	Results string
	// MaxBodyBytes limits every request body (DefaultMaxBodyBytes when 0).
	MaxBodyBytes int64
	// MaxJobs is how many playground runs may run at once (DefaultMaxJobs when 0).
	MaxJobs int
	// MaxRunDuration is the longest run.duration (simulated) the playground
	// accepts (DefaultMaxRunDuration when 0).
	MaxRunDuration time.Duration
	// MaxRunWall stops a playground run after this much wall-clock time
	// (DefaultMaxRunWall when 0); what it measured is kept, marked
	// incomplete.
	MaxRunWall time.Duration
	// Backends are real backends by name (process, containers). The
	// playground offers them only when AllowRealBackends is set; the
	// simulator is always offered.
	Backends          map[string]Backend
	AllowRealBackends bool
	// AnyHost accepts requests whatever their Host header. Without it only
	// loopback names (localhost, 127.0.0.0/8, ::1) are accepted, so that a
	// page of another site cannot reach the server by rebinding its DNS
	// name to 127.0.0.1. Set it when listening beyond loopback.
	AnyHost bool
	// Sim replaces the simulator backend (tests); nil means SimBackend.
	Sim Backend
}

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Server is the dashboard's HTTP handler over one results folder.
type Server struct {
	cfg     Config
	root    *os.Root
	cat     *catalog
	jobs    *jobManager
	pages   map[string]*template.Template
	handler http.Handler
}

// New opens the results folder (creating it when missing) and prepares
// the handlers.
func New(cfg Config) (*Server, error) {
	if cfg.Results == "" {
		return nil, errors.New("web: no results folder")
	}
	cfg = withDefaults(cfg)
	if err := os.MkdirAll(cfg.Results, 0o755); err != nil {
		return nil, fmt.Errorf("web: results folder: %w", err)
	}
	root, err := os.OpenRoot(cfg.Results)
	if err != nil {
		return nil, fmt.Errorf("web: results folder: %w", err)
	}
	pages, err := parsePages()
	if err != nil {
		root.Close()
		return nil, err
	}
	s := &Server{cfg: cfg, root: root, pages: pages}
	s.cat = newCatalog(root, cfg.Results)
	s.jobs = newJobManager(cfg.MaxJobs)
	s.handler = s.secure(s.routes())
	return s, nil
}

func withDefaults(cfg Config) Config {
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.MaxJobs <= 0 {
		cfg.MaxJobs = DefaultMaxJobs
	}
	if cfg.MaxRunDuration <= 0 {
		cfg.MaxRunDuration = DefaultMaxRunDuration
	}
	if cfg.MaxRunWall <= 0 {
		cfg.MaxRunWall = DefaultMaxRunWall
	}
	if cfg.Sim == nil {
		cfg.Sim = SimBackend
	}
	return cfg
}

// Handler is the dashboard with its security checks.
func (s *Server) Handler() http.Handler { return s.handler }

// Close cancels the playground's runs, waits for them to write what they
// measured, and closes the results folder.
func (s *Server) Close() error {
	s.jobs.cancelAll()
	return s.root.Close()
}

func (s *Server) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.handleRuns)
	mux.HandleFunc("GET /run", s.handleRun)
	mux.HandleFunc("GET /compare", s.handleCompare)
	mux.HandleFunc("GET /analyses", s.handleAnalyses)
	mux.HandleFunc("GET /analysis", s.handleAnalysis)
	mux.HandleFunc("GET /playground", s.handlePlayground)
	mux.HandleFunc("GET /files/{name...}", s.handleFile)
	mux.Handle("GET /static/", staticHandler())
	mux.HandleFunc("GET /api/runs", s.handleAPIRuns)
	mux.HandleFunc("GET /api/series", s.handleSeries)
	mux.HandleFunc("GET /api/library", s.handleLibrary)
	mux.HandleFunc("POST /api/validate", s.handleValidate)
	mux.HandleFunc("POST /api/jobs", s.handleStartJob)
	mux.HandleFunc("GET /api/jobs/{id}/events", s.handleJobEvents)
	mux.HandleFunc("POST /api/jobs/{id}/cancel", s.handleCancelJob)
	return mux
}

func staticHandler() http.Handler {
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic("web: the embedded static folder is missing: " + err.Error())
	}
	fsrv := http.StripPrefix("/static/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r) // no directory listings
			return
		}
		w.Header().Set("Cache-Control", "no-cache")
		fsrv.ServeHTTP(w, r)
	})
}

// pageCSP is the policy of the dashboard's own pages: only its own
// scripts, styles, images and frames (the results' report.html); inline
// styles are allowed because dygraphs sets them.
const pageCSP = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
	"connect-src 'self'; frame-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'self'"

// secure wraps the routes with the checks every request passes: a
// loopback Host (unless AnyHost), a clean path, a size limit on the body,
// and same-origin for every POST.
func (s *Server) secure(next http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Content-Security-Policy", pageCSP)
		if !s.cfg.AnyHost && !loopbackHost(r.Host) {
			http.Error(w, "this server answers only to loopback names (localhost, 127.0.0.1); start it with --allow-remote for others", http.StatusMisdirectedRequest)
			return
		}
		if !cleanPath(r.URL.Path) {
			http.NotFound(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if err := sameOrigin(cop, r); err != nil {
				http.Error(w, err.Error(), http.StatusForbidden)
				return
			}
			if r.ContentLength > s.cfg.MaxBodyBytes {
				http.Error(w, fmt.Sprintf("request body over %d bytes", s.cfg.MaxBodyBytes), http.StatusRequestEntityTooLarge)
				return
			}
		}
		r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
		next.ServeHTTP(w, r)
	})
}

// sameOrigin accepts a state-changing request only from a page of this
// server: the standard library's cross-origin check (Sec-Fetch-Site,
// else Origin against Host), and an Origin header, which every browser
// sends with a POST; a request without one is refused rather than trusted.
func sameOrigin(cop *http.CrossOriginProtection, r *http.Request) error {
	if err := cop.Check(r); err != nil {
		return fmt.Errorf("cross-origin request refused: %w", err)
	}
	if r.Header.Get("Origin") == "" {
		return errors.New("cross-origin request refused: no Origin header")
	}
	return nil
}

// cleanPath reports whether p is already in canonical form: no "." or
// ".." element, no doubled slash. Anything else gets a 404 rather than
// the mux's redirect, so that no spelling of a path outside the folder
// leads anywhere.
func cleanPath(p string) bool {
	if !strings.HasPrefix(p, "/") || strings.ContainsRune(p, 0) || strings.Contains(p, "\\") {
		return false
	}
	c := path.Clean(p)
	if strings.HasSuffix(p, "/") && c != "/" {
		c += "/"
	}
	return c == p
}

// loopbackHost reports whether a Host header names this machine's
// loopback: localhost, 127.0.0.0/8 or ::1, with or without a port.
func loopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ErrNotLoopback is returned by CheckAddr for an address beyond loopback
// when that was not asked for explicitly.
var ErrNotLoopback = errors.New("address is not loopback")

// CheckAddr accepts a listen address (host:port) that is loopback, or any
// address when allowRemote is set. An empty host (":8080") means every
// interface and needs allowRemote too.
func CheckAddr(addr string, allowRemote bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("listen address: %v (expected host:port, such as %s)", err, DefaultAddr)
	}
	if allowRemote || (host != "" && loopbackHost(host)) {
		return nil
	}
	return fmt.Errorf("%w: %s would accept connections from other machines; pass --allow-remote to listen there", ErrNotLoopback, addr)
}

// HTTPServer is an http.Server for h with every timeout set. Write
// deadlines are lifted only for the server-sent event streams, which
// outlive any fixed timeout.
func HTTPServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
}

// Serve serves the dashboard on ln until ctx is cancelled, then shuts
// down: open event streams end, playground runs are cancelled (keeping
// what they measured) and the results folder is closed.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	base, cancelBase := context.WithCancel(context.Background())
	defer cancelBase()
	srv := HTTPServer(s.handler)
	srv.BaseContext = func(net.Listener) context.Context { return base }
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		s.Close()
		return err
	case <-ctx.Done():
	}
	cancelBase()
	shutCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := srv.Shutdown(shutCtx)
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	return err
}
