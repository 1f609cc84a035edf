package shardtest

import (
	"io"
	"net"
	"sync"
	"testing"
)

// link is a test stand-in for a network proxy between two copies: it
// forwards TCP to an upstream until cut, which closes its connections and
// refuses new ones.
type link struct {
	ln       net.Listener
	upstream string
	mu       sync.Mutex
	cut      bool
	conns    map[net.Conn]bool
	wg       sync.WaitGroup
}

func newLink(t testing.TB, host, upstream string) *link {
	ln, err := net.Listen("tcp", host+":0")
	if err != nil {
		t.Fatal(err)
	}
	l := &link{ln: ln, upstream: upstream, conns: map[net.Conn]bool{}}
	l.wg.Add(1)
	go l.accept()
	t.Cleanup(l.close)
	return l
}

func (l *link) addr() string { return l.ln.Addr().String() }

func (l *link) accept() {
	defer l.wg.Done()
	for {
		c, err := l.ln.Accept()
		if err != nil {
			return
		}
		l.mu.Lock()
		if l.cut {
			l.mu.Unlock()
			c.Close()
			continue
		}
		l.wg.Add(1)
		go l.serve(c)
		l.mu.Unlock()
	}
}

func (l *link) serve(c net.Conn) {
	defer l.wg.Done()
	up, err := net.Dial("tcp", l.upstream)
	if err != nil {
		c.Close()
		return
	}
	l.track(c, up)
	done := make(chan struct{}, 2)
	go func() { io.Copy(up, c); done <- struct{}{} }()
	go func() { io.Copy(c, up); done <- struct{}{} }()
	<-done
	c.Close()
	up.Close()
	<-done
	l.mu.Lock()
	delete(l.conns, c)
	delete(l.conns, up)
	l.mu.Unlock()
}

func (l *link) track(cs ...net.Conn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range cs {
		if l.cut {
			c.Close()
		}
		l.conns[c] = true
	}
}

// setCut cuts or heals the link.
func (l *link) setCut(cut bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cut = cut
	if cut {
		for c := range l.conns {
			c.Close()
		}
	}
}

func (l *link) close() {
	l.ln.Close()
	l.setCut(true)
	l.wg.Wait()
}
