package load

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/stripelab/stripelab/components/wire"
)

// Transport sends one attempt and one health check. HTTP is the real one;
// tests pass an in-memory one inside a synctest bubble.
type Transport interface {
	// Call sends r (signed with sig) to the gateway at addr; see wire.Client.Call.
	Call(ctx context.Context, addr string, r *wire.Request, sig string) wire.Reply
	// Health asks GET /healthz of the gateway at addr; nil is healthy.
	Health(ctx context.Context, addr string) error
}

// HTTP is the Transport over keep-alive connections.
type HTTP struct {
	Wire   *wire.Client
	Checks *http.Client
}

// NewHTTP returns a transport with a connection pool per gateway sized for
// the requests one city keeps in flight.
func NewHTTP() *HTTP {
	return &HTTP{Wire: wire.NewClient(512), Checks: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2, DisableCompression: true}}}
}

// Call implements Transport.
func (h *HTTP) Call(ctx context.Context, addr string, r *wire.Request, sig string) wire.Reply {
	return h.Wire.Call(ctx, addr, r, sig)
}

// Health implements Transport.
func (h *HTTP) Health(ctx context.Context, addr string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/healthz", nil)
	if err != nil {
		return err
	}
	resp, err := h.Checks.Do(req)
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	if resp.StatusCode == http.StatusServiceUnavailable && strings.HasPrefix(string(body), "draining") {
		return ErrDraining
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthz: status %d", resp.StatusCode)
	}
	return nil
}

// ErrDraining is a health check's answer from a gateway told to drain (a
// scale-down): it is taken down at the first such answer, not after
// DownAfter failed checks, since it says so itself.
var ErrDraining = errors.New("healthz: draining")

// Close drops idle connections.
func (h *HTTP) Close() {
	h.Wire.Close()
	h.Checks.CloseIdleConnections()
}

var _ Transport = (*HTTP)(nil)

// defaultHealthTimeout bounds one health check over a link of one-way delay d.
func defaultHealthTimeout(base, d time.Duration) time.Duration { return base + 4*d }
