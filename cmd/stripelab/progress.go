package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
	"golang.org/x/term"
)

// progress shows how far simulations got, in simulated time: mpb bars
// with an ETA on a terminal, a plain line every few seconds otherwise
// (mpb prints nothing when its output is not a terminal).
type progress interface {
	task(name string, total time.Duration) task
	// log prints a line: above the bars on a terminal, in the log otherwise.
	log(line string)
	wait()
}

type task interface {
	// update reports simulated time reached; it may be called often.
	update(now time.Duration)
	done(aborted bool)
}

// newProgress writes progress to w: bars when both standard output and w
// are terminals (an interactive run), plain lines otherwise (a pipeline's
// log). Transient bars leave the screen when their simulation ends (the
// analyses run dozens).
func newProgress(w *os.File, quiet, transient bool) progress {
	if quiet {
		return noProgress{}
	}
	if term.IsTerminal(int(os.Stdout.Fd())) && term.IsTerminal(int(w.Fd())) {
		return &barProgress{p: mpb.New(mpb.WithOutput(w), mpb.WithWidth(32), mpb.WithRefreshRate(150*time.Millisecond)), transient: transient}
	}
	return &lineProgress{w: w, every: 5 * time.Second}
}

type noProgress struct{}

func (noProgress) task(string, time.Duration) task { return noTask{} }
func (noProgress) log(string)                      {}
func (noProgress) wait()                           {}

type noTask struct{}

func (noTask) update(time.Duration) {}
func (noTask) done(bool)            {}

type barProgress struct {
	p         *mpb.Progress
	transient bool
}

func (b *barProgress) task(name string, total time.Duration) task {
	var opts []mpb.BarOption
	if b.transient {
		opts = append(opts, mpb.BarRemoveOnComplete())
	}
	bar := b.p.AddBar(int64(total/time.Millisecond), append(opts,
		mpb.PrependDecorators(decor.Name(name, decor.WC{W: len(name) + 1, C: decor.DindentRight})),
		mpb.AppendDecorators(
			decor.Any(func(s decor.Statistics) string {
				return fmt.Sprintf("%s / %s", time.Duration(s.Current)*time.Millisecond, total)
			}, decor.WCSyncSpace),
			decor.OnComplete(decor.AverageETA(decor.ET_STYLE_GO, decor.WCSyncSpace), "done"),
		),
	)...)
	return &barTask{bar: bar, start: time.Now(), drop: b.transient}
}

func (b *barProgress) log(line string) { fmt.Fprintln(b.p, line) }

func (b *barProgress) wait() { b.p.Wait() }

type barTask struct {
	bar   *mpb.Bar
	start time.Time
	drop  bool
}

func (t *barTask) update(now time.Duration) {
	t.bar.EwmaSetCurrent(int64(now/time.Millisecond), time.Since(t.start))
}

func (t *barTask) done(aborted bool) {
	if aborted {
		t.bar.Abort(t.drop)
		return
	}
	t.bar.SetTotal(-1, true)
}

// lineProgress prints one line per task every few seconds of wall time.
type lineProgress struct {
	w     io.Writer
	every time.Duration
	mu    sync.Mutex
}

func (l *lineProgress) task(name string, total time.Duration) task {
	return &lineTask{l: l, name: name, total: total, start: time.Now(), last: time.Now()}
}

func (l *lineProgress) log(line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintln(l.w, line)
}

func (l *lineProgress) wait() {}

type lineTask struct {
	l     *lineProgress
	name  string
	total time.Duration
	start time.Time
	last  time.Time
}

func (t *lineTask) update(now time.Duration) {
	if time.Since(t.last) < t.l.every {
		return
	}
	t.last = time.Now()
	t.l.mu.Lock()
	defer t.l.mu.Unlock()
	fmt.Fprintf(t.l.w, "%s: %3.0f%% (%s of %s simulated, %s elapsed)\n", t.name, 100*float64(now)/float64(t.total),
		now.Truncate(time.Second), t.total, time.Since(t.start).Truncate(100*time.Millisecond))
}

func (t *lineTask) done(aborted bool) {
	if aborted {
		t.l.mu.Lock()
		defer t.l.mu.Unlock()
		fmt.Fprintf(t.l.w, "%s: stopped after %s\n", t.name, time.Since(t.start).Truncate(100*time.Millisecond))
	}
}
