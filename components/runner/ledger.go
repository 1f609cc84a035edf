package runner

import (
	"fmt"
	"sync"
	"time"
)

// LedgerEntry is one injection or revert of a fault, at its real time.
type LedgerEntry struct {
	Fault int    `json:"fault"`
	Name  string `json:"name"`
	// Action is "inject" or "revert".
	Action string `json:"action"`
	// At is when it was done, from the start of the run; Took how long.
	At   time.Duration `json:"at_ns"`
	Took time.Duration `json:"took_ns"`
	// What it did: the instances killed or restarted, the links touched.
	Detail string `json:"detail"`
	// Verified (reverts only): the check that the revert took passed
	// (toxics gone, links up, every instance healthy again), at VerifiedAt.
	Verified   bool          `json:"verified"`
	VerifiedAt time.Duration `json:"verified_at_ns,omitempty"`
	Err        string        `json:"error,omitempty"`
}

func (e LedgerEntry) String() string {
	s := fmt.Sprintf("%8s  %-6s %s: %s", e.At.Truncate(time.Millisecond), e.Action, e.Name, e.Detail)
	if e.Action == "revert" {
		if e.Verified {
			s += fmt.Sprintf(" (verified at %s)", e.VerifiedAt.Truncate(time.Millisecond))
		} else {
			s += " (NOT verified: " + e.Err + ")"
		}
	} else if e.Err != "" {
		s += " (error: " + e.Err + ")"
	}
	return s
}

// Ledger is the run's list of fault injections and reverts.
type Ledger struct {
	mu      sync.Mutex
	entries []LedgerEntry
}

func (l *Ledger) add(e LedgerEntry) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.entries = append(l.entries, e)
	return len(l.entries) - 1
}

func (l *Ledger) update(k int, f func(*LedgerEntry)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f(&l.entries[k])
}

// Entries returns a copy of the entries.
func (l *Ledger) Entries() []LedgerEntry {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]LedgerEntry(nil), l.entries...)
}

// Reverts counts the reverts and those verified.
func (l *Ledger) Reverts() (n, verified int) {
	for _, e := range l.Entries() {
		if e.Action == "revert" {
			n++
			if e.Verified {
				verified++
			}
		}
	}
	return
}
