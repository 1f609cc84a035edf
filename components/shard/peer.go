package shard

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/stripelab/stripelab/components/wire"
)

// peerClient is how copies talk to each other: /v1/repl and /v1/role over
// keep-alive HTTP, through the network proxies of the run.
type peerClient struct {
	c       *wire.Client
	secret  string
	timeout time.Duration
}

func newPeerClient(secret string, timeout time.Duration) *peerClient {
	return &peerClient{c: wire.NewClient(4), secret: secret, timeout: timeout}
}

func (p *peerClient) close() { p.c.Close() }

func (p *peerClient) do(ctx context.Context, method, addr, path string, in, out any) error {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://"+addr+path, body)
	if err != nil {
		return err
	}
	if p.secret != "" {
		req.Header.Set("Authorization", "Bearer "+p.secret)
	}
	resp, err := p.c.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(b))
	}
	return json.Unmarshal(b, out)
}

func (p *peerClient) repl(ctx context.Context, addr string, m *Repl) (ReplReply, error) {
	var r ReplReply
	err := p.do(ctx, http.MethodPost, addr, "/v1/repl", m, &r)
	return r, err
}

func (p *peerClient) role(ctx context.Context, addr string) (Role, error) {
	var r Role
	err := p.do(ctx, http.MethodGet, addr, "/v1/role", nil, &r)
	return r, err
}
