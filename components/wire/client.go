package wire

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"
)

// Client sends requests to other hops over keep-alive connections.
type Client struct {
	HTTP *http.Client
}

// NewClient returns a client with a connection pool sized for one hop's
// fan-out: idle connections are kept per address so a hop costs no dial.
func NewClient(maxIdlePerHost int) *Client {
	if maxIdlePerHost <= 0 {
		maxIdlePerHost = 64
	}
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        0,
		MaxIdleConnsPerHost: maxIdlePerHost,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}
	return &Client{HTTP: &http.Client{Transport: tr}}
}

// Close drops the idle connections.
func (c *Client) Close() { c.HTTP.CloseIdleConnections() }

// Call sends r to addr (host:port) and waits at most r.Deadline. The reply's
// outcome is the hop's own when it answered; Timeout when the deadline
// passed first; Reset when the connection broke after the request was sent;
// Unavailable (reason "refused") when no connection could be made, which is
// definite: nothing was sent. sign, when not empty, is put in HSig.
func (c *Client) Call(ctx context.Context, addr string, r *Request, sig string) Reply {
	if r.Deadline <= 0 {
		return Reply{Outcome: Timeout, Reason: "no_time_left", Served: -1}
	}
	ctx, cancel := context.WithTimeout(ctx, r.Deadline)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+Path, bytes.NewReader(r.Value))
	if err != nil {
		return Reply{Outcome: Error, Reason: "bad_address", Served: -1}
	}
	r.Encode(req.Header)
	if sig != "" {
		req.Header.Set(HSig, sig)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return Reply{Outcome: Classify(ctx, err), Reason: reasonOf(ctx, err), Served: -1}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxValue+1))
	resp.Body.Close()
	if err != nil {
		return Reply{Outcome: Classify(ctx, err), Reason: reasonOf(ctx, err), Served: -1}
	}
	if resp.StatusCode == http.StatusBadRequest {
		return Reply{Outcome: Rejected, Reason: "bad_request: " + trunc(string(body)), Served: -1}
	}
	rp, err := ReadReply(resp.Header, body)
	if err != nil {
		return Reply{Outcome: Error, Reason: "bad_reply", Served: -1}
	}
	return rp
}

// Classify maps a transport error to an outcome: the context's deadline is
// Timeout, a refused connection is Unavailable (definite), anything else
// after sending (reset, EOF) is Reset.
func Classify(ctx context.Context, err error) Outcome {
	switch {
	case ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		return Timeout
	case errors.Is(err, syscall.ECONNREFUSED):
		return Unavailable
	default:
		return Reset
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func reasonOf(ctx context.Context, err error) string {
	switch Classify(ctx, err) {
	case Timeout:
		return "deadline"
	case Unavailable:
		return "refused"
	}
	if errors.Is(err, syscall.ECONNRESET) || strings.Contains(err.Error(), "reset") {
		return "reset"
	}
	return "broken"
}
