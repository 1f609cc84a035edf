package shard

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"

	"github.com/stripelab/stripelab/components/node"
	"github.com/stripelab/stripelab/components/wire"
)

// Role is the answer of GET /v1/role.
type Role struct {
	Instance     int    `json:"instance"`
	Shard        int    `json:"shard"`
	Primary      bool   `json:"primary"`
	Epoch        uint64 `json:"epoch"`
	Applied      uint64 `json:"applied"`
	LastEpoch    uint64 `json:"last_epoch"` // the epoch of the last log entry
	Hash         uint64 `json:"hash"`
	KnownPrimary int    `json:"known_primary"` // the instance this copy believes primary, -1 unknown
	Lost         bool   `json:"lost"`          // this copy declared its primary lost
}

// CheckRequest is the body of POST /v1/check.
type CheckRequest struct {
	IDs []string `json:"ids"`
}

// CheckReply is its answer: the ids this copy stores.
type CheckReply struct {
	Found   []string `json:"found"`
	Epoch   uint64   `json:"epoch"`
	Primary bool     `json:"primary"`
}

// Body limits.
const (
	maxCheckBody = 16 << 20
	maxCheckIDs  = 200_000
	maxReplBody  = 32 << 20
	maxBatch     = 256
)

func (s *Shard) routes(srv *node.Server) {
	srv.Mux.HandleFunc("POST "+wire.Path, s.handleCall)
	srv.Mux.HandleFunc("POST /v1/check", s.handleCheck)
	srv.Mux.HandleFunc("GET /v1/role", s.handleRole)
	srv.Mux.HandleFunc("POST /v1/repl", s.handleRepl)
	srv.Admin("POST /admin/slow", s.handleSlow)
	srv.Mux.HandleFunc("POST /v1/import", s.handleImport)
	srv.Admin("POST /admin/copy", s.handleCopyStart)
	srv.Admin("GET /admin/copy", s.handleCopyStatus)
}

func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, bool) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		http.Error(w, fmt.Sprintf("body: %v (at most %d bytes)", err, limit), http.StatusBadRequest)
		return nil, false
	}
	return b, true
}

// ParseEpoch reads the optional X-Sl-Epoch header (0 when absent).
func ParseEpoch(v string) (uint64, error) {
	if v == "" {
		return 0, nil
	}
	e, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s: want a decimal epoch, got %q", HEpoch, v)
	}
	return e, nil
}

func (s *Shard) handleCall(w http.ResponseWriter, r *http.Request) {
	start := s.clock.Now()
	body, ok := readBody(w, r, wire.MaxValue+1)
	if !ok {
		return
	}
	req, err := wire.Decode(r.Header, body)
	if err == nil && req.City >= len(s.env.Plan.Cities) {
		err = fmt.Errorf("%s: the plan has %d cities, got %d", wire.HCity, len(s.env.Plan.Cities), req.City)
	}
	var epoch uint64
	if err == nil {
		epoch, err = ParseEpoch(r.Header.Get(HEpoch))
	}
	if err != nil {
		s.met.outcome("bad", "bad_request")
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), req.Deadline)
	defer cancel()
	rp := s.serve(ctx, &req, epoch, w.Header())
	if rp.Outcome == wire.Timeout {
		s.met.outcome(req.Op.String(), "timeout")
		panic(http.ErrAbortHandler) // the deadline passed: the caller sees no answer
	}
	s.mu.Lock()
	w.Header().Set(HEpoch, strconv.FormatUint(s.epoch, 10))
	if s.primary >= 0 {
		w.Header().Set(HPrimary, strconv.Itoa(s.primary))
	}
	s.mu.Unlock()
	rp.CrossSet = req.Crosses(s.env.Plan.Machines[s.env.Plan.Instances[s.inst].Machine].Set)
	wire.WriteReply(w, rp)
	s.met.outcome(req.Op.String(), rp.Outcome.String())
	s.met.latency.WithLabelValues(req.Op.String()).Observe(s.clock.Now().Sub(start).Seconds())
}

func (s *Shard) serve(ctx context.Context, req *wire.Request, epoch uint64, h http.Header) wire.Reply {
	if rp := s.routeMoved(ctx, req, h); rp != nil {
		return *rp
	}
	release, o, ok := s.work(ctx)
	if !ok {
		reason := ""
		if o == wire.Shed {
			reason = "queue_full"
		}
		return wire.Reply{Outcome: o, Reason: reason, Served: -1}
	}
	defer release()
	if req.Op == wire.Read {
		v, ver, err := s.st.latest(req.Key)
		if err != nil {
			return wire.Reply{Outcome: wire.Error, Reason: "storage", Served: -1}
		}
		return wire.Reply{Outcome: wire.OK, Version: ver, Value: v, Served: -1}
	}
	return s.write(ctx, req, epoch, h)
}

func (s *Shard) handleCheck(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(w, r, maxCheckBody)
	if !ok {
		return
	}
	cr, err := ParseCheck(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	out := CheckReply{Found: []string{}}
	for _, id := range cr.IDs {
		_, ok, err := s.st.seqOf(id)
		if err != nil {
			http.Error(w, "storage: "+err.Error(), http.StatusInternalServerError)
			return
		}
		if ok {
			out.Found = append(out.Found, id)
		}
	}
	s.mu.Lock()
	out.Epoch, out.Primary = s.epoch, s.isPrimary
	s.mu.Unlock()
	writeJSON(w, out)
}

// ParseCheck reads a /v1/check body.
func ParseCheck(body []byte) (CheckRequest, error) {
	var cr CheckRequest
	if err := json.Unmarshal(body, &cr); err != nil {
		return cr, fmt.Errorf(`body: want {"ids":["<request id>",...]}: %v`, err)
	}
	if len(cr.IDs) > maxCheckIDs {
		return cr, fmt.Errorf("ids: at most %d per call, got %d", maxCheckIDs, len(cr.IDs))
	}
	for i, id := range cr.IDs {
		if id == "" || len(id) > 128 {
			return cr, fmt.Errorf("ids[%d]: want a request id of 1 to 128 characters", i)
		}
	}
	return cr, nil
}

func (s *Shard) handleRole(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, s.role())
}

func (s *Shard) role() Role {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Role{Instance: s.inst, Shard: s.shard, Primary: s.isPrimary, Epoch: s.epoch, Applied: s.applied, LastEpoch: s.lastEpoch, Hash: s.hash, KnownPrimary: s.primary, Lost: s.lost}
}

// peerBody reads the body of a call from another copy (what names it in
// errors), which carries the run secret when the run has one.
func (s *Shard) peerBody(w http.ResponseWriter, r *http.Request, what string) ([]byte, bool) {
	if s.env.Config.Secret != "" && !s.env.Server.Authorized(r) {
		http.Error(w, what+": want Authorization: Bearer <run secret>", http.StatusUnauthorized)
		return nil, false
	}
	return readBody(w, r, maxReplBody)
}

func (s *Shard) handleRepl(w http.ResponseWriter, r *http.Request) {
	body, ok := s.peerBody(w, r, "repl")
	if !ok {
		return
	}
	m, err := ParseRepl(body)
	if err == nil && s.posOf(m.From) < 0 {
		err = fmt.Errorf("from: instance %d is not a copy of shard %d", m.From, s.shard)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	resp, err := s.receive(&m)
	if err != nil {
		http.Error(w, "storage: "+err.Error(), http.StatusInternalServerError)
		return
	}
	writeJSON(w, resp)
}

// ParseSlow reads /admin/slow's factor: a number above 0 and at most 1000.
func ParseSlow(v string) (float64, error) {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || !(f > 0) || f > 1000 || math.IsInf(f, 0) {
		return 0, fmt.Errorf("factor: want a number above 0 and at most 1000, got %q", v)
	}
	return f, nil
}

func (s *Shard) handleSlow(w http.ResponseWriter, r *http.Request) {
	f, err := ParseSlow(r.URL.Query().Get("factor"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.slow.Store(math.Float64bits(f))
	fmt.Fprintf(w, "factor %g\n", f)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}
