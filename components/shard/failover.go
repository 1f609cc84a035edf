package shard

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/stripelab/stripelab/components/node"
)

// monitor is a copy's failure detector: no message from the primary for
// data.detection declares it lost; data.promotion later an election runs.
// On the primary its tick lets sync writes see a silent copy dropped.
func (s *Shard) monitor() {
	defer s.wg.Done()
	t := s.clock.NewTicker(s.set.heartbeat)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			s.mu.Lock()
			if s.stopPrim != nil {
				s.stopPrim()
			}
			s.mu.Unlock()
			return
		case <-t.C:
		}
		if s.tick() {
			s.elect()
		}
	}
}

// tick advances the detector; true means an election is due.
func (s *Shard) tick() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	if s.isPrimary {
		s.notifyLocked()
		return false
	}
	if !s.lost && now.Sub(s.lastHeard) > s.set.detection {
		s.lost, s.electAt = true, now.Add(s.set.promotion)
		s.ev.Emit(node.EvPrimaryLost, s.primary, s.epoch, fmt.Sprintf("shard %d: nothing from primary %d for %s", s.shard, s.primary, now.Sub(s.lastHeard).Round(1e6)))
		s.log.Info("primary lost", "primary", s.primary, "epoch", s.epoch)
	}
	// The poll starts early enough that silent copies (held connections
	// time out) do not delay the promotion past electAt.
	return s.lost && !now.Before(s.electAt.Add(-s.pollLead()))
}

// pollLead is how long before the election the copies are asked.
func (s *Shard) pollLead() time.Duration { return min(s.set.rpcTimeout, s.set.promotion) }

// candidate is one live copy in an election.
type candidate struct {
	inst, pos int
	last      uint64 // epoch of the last entry: a log ending in a newer epoch is ahead
	applied   uint64
}

// elect asks the other copies for their state. A primary of this epoch or
// newer is followed; otherwise the most caught-up live copy (the log
// whose last entry has the newest epoch, then the longest), the earliest
// in the replica list on a tie, is promoted under the highest epoch seen
// plus one. Every copy applies the same rule to the same answers.
func (s *Shard) elect() {
	roles := s.pollRoles()
	s.mu.Lock()
	wait := s.electAt.Sub(s.clock.Now())
	s.mu.Unlock()
	if wait > 0 {
		select {
		case <-s.ctx.Done():
			return
		case <-s.clock.After(wait):
		}
	}
	s.mu.Lock()
	if !s.lost {
		s.mu.Unlock()
		return // heard from a primary meanwhile
	}
	top := s.epoch
	cands := []candidate{{s.inst, s.pos, s.lastEpoch, s.applied}}
	for _, r := range roles {
		if r.Primary && r.Epoch >= s.epoch {
			s.followLocked(r.Instance, r.Epoch)
			s.mu.Unlock()
			return
		}
		top = max(top, r.Epoch)
		cands = append(cands, candidate{r.Instance, s.posOf(r.Instance), r.LastEpoch, r.Applied})
	}
	slices.SortFunc(cands, func(a, b candidate) int {
		if c := cmp.Compare(b.last, a.last); c != 0 {
			return c
		}
		if c := cmp.Compare(b.applied, a.applied); c != 0 {
			return c
		}
		return cmp.Compare(a.pos, b.pos)
	})
	best := cands[0]
	if best.inst != s.inst {
		s.followLocked(best.inst, top)
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	if err := s.promote(top+1, true); err != nil {
		s.log.Error("promote", "err", err)
	}
}

// followLocked waits for inst to act as primary: the detector restarts.
func (s *Shard) followLocked(inst int, epoch uint64) {
	s.lost, s.primary, s.lastHeard = false, inst, s.clock.Now()
	s.log.Info("following", "primary", inst, "epoch", epoch)
}

// promote makes this copy primary of epoch, persisted before it serves.
func (s *Shard) promote(epoch uint64, event bool) error {
	if err := s.st.setMeta(epoch, s.inst); err != nil {
		return err
	}
	s.mu.Lock()
	s.epoch, s.primary, s.isPrimary, s.lost, s.catching = epoch, s.inst, true, false, false
	s.recent = nil
	s.startShippingLocked()
	s.met.epoch.Set(float64(epoch))
	s.met.primary.Set(1)
	s.notifyLocked()
	s.mu.Unlock()
	if event {
		s.ev.Emit(node.EvPromoted, s.shard, epoch, fmt.Sprintf("instance %d primary of shard %d", s.inst, s.shard))
	}
	s.log.Info("primary", "epoch", epoch)
	return nil
}

// stepDown turns a primary (or a copy told of a newer epoch) into a copy
// that follows primary (-1 unknown) under epoch.
func (s *Shard) stepDown(epoch uint64, primary int, why string) {
	s.mu.Lock()
	was := s.isPrimary
	epoch = max(epoch, s.epoch)
	s.epoch, s.primary, s.isPrimary, s.lastHeard, s.lost = epoch, primary, false, s.clock.Now(), false
	if was {
		s.catching = true
		if s.stopPrim != nil {
			s.stopPrim()
			s.stopPrim = nil
		}
		s.peers, s.recent = nil, nil
	}
	s.met.epoch.Set(float64(epoch))
	s.met.primary.Set(0)
	s.notifyLocked()
	s.mu.Unlock()
	if err := s.st.setMeta(epoch, primary); err != nil {
		s.log.Error("persist epoch", "err", err)
	}
	s.ev.Emit(node.EvFenced, s.shard, epoch, why)
	s.log.Info("fenced", "epoch", epoch, "primary", primary, "why", why)
}

// pollRoles asks every other copy for its role at once; copies that do not
// answer within the call timeout are left out.
func (s *Shard) pollRoles() []Role {
	ctx, cancel := context.WithTimeout(s.ctx, s.set.rpcTimeout)
	defer cancel()
	var mu sync.Mutex
	var wg sync.WaitGroup
	var out []Role
	for _, in := range s.reps {
		addr, ok := s.addrs[in]
		if in == s.inst || !ok {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := s.peer.role(ctx, addr)
			if err != nil || r.Instance != in || r.Shard != s.shard {
				return
			}
			mu.Lock()
			out = append(out, r)
			mu.Unlock()
		}()
	}
	wg.Wait()
	slices.SortFunc(out, func(a, b Role) int { return cmp.Compare(a.Instance, b.Instance) })
	return out
}
