package shard

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"strings"
	"sync"

	"github.com/cockroachdb/pebble/v2"
)

// Entry is one write in the replicated log.
type Entry struct {
	Seq   uint64 `json:"seq"`
	Epoch uint64 `json:"epoch"`
	Hash  uint64 `json:"hash"` // chained: hash of the previous entry's hash and this entry
	Key   uint64 `json:"key"`
	ID    string `json:"id"`
	Value []byte `json:"value,omitempty"`
}

// chain is the hash of entry e following an entry whose hash is prev; two
// logs with the same hash at the same sequence number hold the same writes.
func chain(prev uint64, e *Entry) uint64 {
	h := fnv.New64a()
	var b [32]byte
	binary.BigEndian.PutUint64(b[0:], prev)
	binary.BigEndian.PutUint64(b[8:], e.Seq)
	binary.BigEndian.PutUint64(b[16:], e.Epoch)
	binary.BigEndian.PutUint64(b[24:], e.Key)
	h.Write(b[:])
	h.Write([]byte(e.ID))
	h.Write([]byte{0})
	h.Write(e.Value)
	return h.Sum64()
}

// Key layout: m/ metadata, l/<seq> log entries, w/<id> -> seq, k/<key> -> seq,
// i/<user><id> the request ids of the writes to a user's key (those taken
// here and those imported with the key), handed on when the key moves.
var (
	keyEpoch   = []byte("m/epoch")
	keyPrimary = []byte("m/primary")
	logLo      = []byte("l/")
	logHi      = []byte("l0") // '0' follows '/'
	idLo       = []byte("w/")
	idHi       = []byte("w0")
	kvLo       = []byte("k/")
	kvHi       = []byte("k0")
	userLo     = []byte("i/")
	userHi     = []byte("i0")
)

func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

func logKey(seq uint64) []byte { return append([]byte("l/"), u64(seq)...) }
func idKey(id string) []byte   { return append([]byte("w/"), id...) }
func kvKey(k uint64) []byte    { return append([]byte("k/"), u64(k)...) }

// userKey indexes write id under its user's key (marker entries carrying
// imported ids set the marker bit, which it drops).
func userKey(key uint64, id string) []byte {
	return append(append([]byte("i/"), u64(key&^markerKey)...), id...)
}

// isMarker is a move marker's id: no write of a user.
func isMarker(id string) bool { return strings.HasPrefix(id, "mv/") }

func encodeEntry(e *Entry) []byte {
	b := make([]byte, 0, 40+len(e.ID)+len(e.Value))
	b = binary.BigEndian.AppendUint64(b, e.Seq)
	b = binary.BigEndian.AppendUint64(b, e.Epoch)
	b = binary.BigEndian.AppendUint64(b, e.Hash)
	b = binary.BigEndian.AppendUint64(b, e.Key)
	b = binary.BigEndian.AppendUint16(b, uint16(len(e.ID)))
	b = append(b, e.ID...)
	return append(b, e.Value...)
}

var errCorrupt = errors.New("shard: corrupt log entry")

func decodeEntry(b []byte) (Entry, error) {
	if len(b) < 34 {
		return Entry{}, errCorrupt
	}
	e := Entry{Seq: binary.BigEndian.Uint64(b), Epoch: binary.BigEndian.Uint64(b[8:]), Hash: binary.BigEndian.Uint64(b[16:]), Key: binary.BigEndian.Uint64(b[24:])}
	n := int(binary.BigEndian.Uint16(b[32:]))
	if len(b) < 34+n {
		return Entry{}, errCorrupt
	}
	e.ID = string(b[34 : 34+n])
	e.Value = append([]byte(nil), b[34+n:]...)
	return e, nil
}

// store is the copy's pebble database. Every change is committed with
// pebble.Sync: an acknowledged write survives a SIGKILL and a power cut.
type store struct {
	mu     sync.RWMutex // guards closed against use after Close
	db     *pebble.DB
	closed bool
}

var errClosed = errors.New("shard: store closed")

// pebbleLog sends pebble's messages to slog.
type pebbleLog struct{ l *slog.Logger }

func (p pebbleLog) Infof(f string, a ...any)  { p.l.Debug(fmt.Sprintf(f, a...)) }
func (p pebbleLog) Errorf(f string, a ...any) { p.l.Error(fmt.Sprintf(f, a...)) }
func (p pebbleLog) Fatalf(f string, a ...any) { panic(fmt.Sprintf(f, a...)) }

func openStore(dir string, log *slog.Logger) (*store, error) {
	db, err := pebble.Open(dir, &pebble.Options{Logger: pebbleLog{log}})
	if err != nil {
		return nil, fmt.Errorf("open pebble in %s: %w", dir, err)
	}
	return &store{db: db}, nil
}

func (s *store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	return s.db.Close()
}

func (s *store) get(k []byte) ([]byte, bool, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, false, errClosed
	}
	v, c, err := s.db.Get(k)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	out := append([]byte(nil), v...)
	c.Close()
	return out, true, nil
}

// meta is what a copy reads back at start: its epoch, whom it believed
// primary, and the end of its log.
type meta struct {
	Epoch   uint64
	Primary int // -1 unknown
	Applied uint64
	Hash    uint64
	Last    uint64 // the epoch of the last entry
}

func (s *store) meta() (meta, error) {
	m := meta{Primary: -1}
	if v, ok, err := s.get(keyEpoch); err != nil {
		return m, err
	} else if ok && len(v) == 8 {
		m.Epoch = binary.BigEndian.Uint64(v)
	}
	if v, ok, err := s.get(keyPrimary); err != nil {
		return m, err
	} else if ok && len(v) == 8 {
		m.Primary = int(int64(binary.BigEndian.Uint64(v)))
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return m, errClosed
	}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: logLo, UpperBound: logHi})
	if err != nil {
		return m, err
	}
	defer it.Close()
	if it.Last() {
		e, err := decodeEntry(it.Value())
		if err != nil {
			return m, err
		}
		m.Applied, m.Hash, m.Last = e.Seq, e.Hash, e.Epoch
	}
	return m, it.Error()
}

func (s *store) setMeta(epoch uint64, primary int) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return errClosed
	}
	b := s.db.NewBatch()
	defer b.Close()
	b.Set(keyEpoch, u64(epoch), nil)
	b.Set(keyPrimary, u64(uint64(int64(primary))), nil)
	return b.Commit(pebble.Sync)
}

// apply appends entries to the log with their id and key indexes in one
// batch; reset first wipes the log and the indexes (a diverged copy being
// copied again from the primary's first entry).
func (s *store) apply(es []Entry, reset bool) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return errClosed
	}
	b := s.db.NewBatch()
	defer b.Close()
	if reset {
		b.DeleteRange(logLo, logHi, nil)
		b.DeleteRange(idLo, idHi, nil)
		b.DeleteRange(kvLo, kvHi, nil)
		b.DeleteRange(userLo, userHi, nil)
	}
	for i := range es {
		e := &es[i]
		seq := u64(e.Seq)
		b.Set(logKey(e.Seq), encodeEntry(e), nil)
		b.Set(idKey(e.ID), seq, nil)
		b.Set(kvKey(e.Key), seq, nil)
		if e.ID != "" && !isMarker(e.ID) {
			b.Set(userKey(e.Key, e.ID), nil, nil)
		}
	}
	return b.Commit(pebble.Sync)
}

// entry reads the log entry at seq.
func (s *store) entry(seq uint64) (Entry, bool, error) {
	v, ok, err := s.get(logKey(seq))
	if err != nil || !ok {
		return Entry{}, ok, err
	}
	e, err := decodeEntry(v)
	return e, err == nil, err
}

// entries reads at most max log entries from seq from through to.
func (s *store) entries(from, to uint64, max int) ([]Entry, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, errClosed
	}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: logKey(from), UpperBound: logKey(to + 1)})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var out []Entry
	for ok := it.First(); ok && len(out) < max; ok = it.Next() {
		e, err := decodeEntry(it.Value())
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, it.Error()
}

// seqOf is the sequence number a request id was stored under.
func (s *store) seqOf(id string) (uint64, bool, error) {
	v, ok, err := s.get(idKey(id))
	if err != nil || !ok || len(v) != 8 {
		return 0, false, err
	}
	return binary.BigEndian.Uint64(v), true, nil
}

// latest is the newest value written to key and its version (sequence).
func (s *store) latest(key uint64) ([]byte, uint64, error) {
	v, ok, err := s.get(kvKey(key))
	if err != nil || !ok || len(v) != 8 {
		return nil, 0, err
	}
	seq := binary.BigEndian.Uint64(v)
	e, ok, err := s.entry(seq)
	if err != nil || !ok {
		return nil, 0, err
	}
	return e.Value, seq, nil
}

// idsOf lists the request ids of the writes to user's key held here.
func (s *store) idsOf(user int) ([]string, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, errClosed
	}
	lo := userKey(uint64(user), "")
	hi := userKey(uint64(user)+1, "")
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var ids []string
	for ok := it.First(); ok; ok = it.Next() {
		ids = append(ids, string(it.Key()[len(lo):]))
	}
	return ids, it.Error()
}
