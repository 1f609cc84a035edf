package network

import (
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/Shopify/toxiproxy/v2/stream"
)

// listen opens the link's listener and starts its accept loop.
func (l *Link) listen() error {
	ln, err := net.Listen("tcp", l.Listen)
	if err != nil {
		return fmt.Errorf("network: link %s on %s: %w", l.Name, l.Listen, err)
	}
	l.ln, l.served = ln, make(chan struct{})
	go l.serve(ln, l.served)
	return nil
}

// serve accepts callers until the listener closes. A caller of a dead
// host is held; any other is piped to a new connection to the instance
// through the link's toxics; when the instance refuses, the caller's
// connection is closed.
func (l *Link) serve(ln net.Listener, done chan struct{}) {
	defer close(done)
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		l.mu.Lock()
		dead := l.dead
		if dead {
			l.held[c] = struct{}{}
		}
		l.mu.Unlock()
		if dead {
			go discard(c)
			continue
		}
		// Dial outside the accept loop: a connect to another network
		// namespace (a container) can take milliseconds, and callers
		// queued behind it would time out before being accepted.
		l.dialing.Add(1)
		go l.connect(c)
	}
}

// connect pipes an accepted caller to a new connection to the instance
// through the link's toxics; when the instance refuses, or the link went
// down meanwhile, the caller's connection is closed.
func (l *Link) connect(c net.Conn) {
	defer l.dialing.Done()
	up, err := net.DialTimeout("tcp", l.Upstream, 2*time.Second)
	if err != nil {
		c.Close()
		return
	}
	cc, uc := c.(*net.TCPConn), up.(*net.TCPConn)
	if !l.track(cc, uc) {
		cc.Close()
		uc.Close()
		return
	}
	name := c.RemoteAddr().String()
	l.p.Toxics.StartLink(l.s.srv, name+"upstream", cc, uc, stream.Upstream)
	l.p.Toxics.StartLink(l.s.srv, name+"downstream", uc, cc, stream.Downstream)
}

// discard reads a held connection until it closes: a dead host's
// kernel takes the bytes and never answers.
func discard(c net.Conn) { io.Copy(io.Discard, c) }

// track remembers open connections so Down can close them, forgetting
// the closed ones now and then; false when the link is down.
func (l *Link) track(cs ...*net.TCPConn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.down {
		return false
	}
	for _, c := range cs {
		l.conns[c] = struct{}{}
	}
	if len(l.conns) < 2*l.pruned+64 {
		return true
	}
	for c := range l.conns {
		if closed(c) {
			delete(l.conns, c)
		}
	}
	l.pruned = len(l.conns)
	return true
}

// closed reports whether c was closed (its descriptor is gone).
func closed(c *net.TCPConn) bool {
	rc, err := c.SyscallConn()
	return err != nil || rc.Control(func(uintptr) {}) != nil
}

// Down closes the listener and every connection of the link: new callers
// are refused, as by a host whose process crashed.
func (l *Link) Down() {
	l.mu.Lock()
	if l.down {
		l.mu.Unlock()
		return
	}
	l.down = true
	ln, served := l.ln, l.served
	l.mu.Unlock()
	ln.Close()
	<-served
	l.dialing.Wait()
	l.closeConns()
}

func (l *Link) closeConns() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for c := range l.conns {
		c.Close()
	}
	for c := range l.held {
		c.Close()
	}
	l.conns, l.held, l.pruned = map[*net.TCPConn]struct{}{}, map[net.Conn]struct{}{}, 0
}

// Up listens again on the link's address after Down.
func (l *Link) Up() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.down {
		return nil
	}
	if err := l.listen(); err != nil {
		return err
	}
	l.down = false
	return nil
}

// IsDown reports whether Down was called without a later Up.
func (l *Link) IsDown() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.down
}

// holdName is the toxic Dead puts on both streams.
const holdName = "dead_host"

// Dead makes the link play a host that is gone (a machine, rack, AZ or
// city down): open connections fall silent and stay open even when the
// instance's process dies and its kernel closes them, and new connections
// are accepted and never answered, so callers wait for their own timeouts,
// as they would for a host that no longer answers. Alive undoes it.
func (l *Link) Dead() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.dead {
		return nil
	}
	id, _ := newRelease()
	for _, st := range []Stream{Upstream, Downstream} {
		if err := l.addToxic(holdName+"_"+st.String(), st, toxicHold, holdToxic{Release: id}); err != nil {
			release(id)
			return err
		}
	}
	l.dead, l.release = true, id
	return nil
}

// Alive ends Dead: held connections are closed (the host rebooted: what
// its callers had open is gone) and new connections reach the instance.
func (l *Link) Alive() error {
	l.mu.Lock()
	if !l.dead {
		l.mu.Unlock()
		return nil
	}
	l.dead = false
	held := l.held
	l.held = map[net.Conn]struct{}{}
	release(l.release)
	l.mu.Unlock()
	for c := range held {
		c.Close()
	}
	var errs []error
	for _, st := range []Stream{Upstream, Downstream} {
		errs = append(errs, l.p.Toxics.RemoveToxic(l.s.ctx, holdName+"_"+st.String()))
	}
	return errors.Join(errs...)
}

// IsDead reports whether Dead was called without a later Alive.
func (l *Link) IsDead() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.dead
}

// close stops the link for good.
func (l *Link) close() {
	l.Down()
	l.mu.Lock()
	if l.dead {
		release(l.release)
	}
	l.dead = false
	l.mu.Unlock()
	l.p.Toxics.ResetToxics(l.s.ctx)
}
