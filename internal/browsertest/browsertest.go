// Package browsertest opens a report.html from disk in headless Chromium
// (Debian's chromium package; never downloaded) and reads back what
// rendered, for the tests of reports and of the CLI.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// Chromium finds a Chromium to drive: $STRIPELAB_CHROMIUM, Debian's
// /usr/bin/chromium, or chromium / chromium-browser / google-chrome on the
// PATH; "" when there is none, or when STRIPELAB_CHROMIUM is "none" (the
// browser tests are then skipped).
func Chromium() string {
	if p := os.Getenv("STRIPELAB_CHROMIUM"); p == "none" {
		return ""
	} else if p != "" {
		return p
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// SkipNotice is the line make test prints when the browser tests will
// be skipped for want of a Chromium (go test shows no skip without -v);
// "" when they will run.
func SkipNotice() string {
	if Chromium() != "" {
		return ""
	}
	return "browser tests skipped: no Chromium found (apt-get install chromium, or set STRIPELAB_CHROMIUM to its path)"
}

// Page is what rendered in a report page.
type Page struct {
	Title    string `json:"title"`
	Status   string `json:"status"`
	Verdicts []struct {
		Class string   `json:"cls"`
		Cells []string `json:"cells"`
	} `json:"verdicts"`
	Images []struct {
		Alt      string `json:"alt"`
		Natural  int    `json:"w"`
		NaturalH int    `json:"h"`
		Shown    int    `json:"shown"`
	} `json:"images"`
	Svgs     []int `json:"svgs"`
	Timeline int   `json:"timeline"`
	Failover int   `json:"failover"`
	// FaultLines is the most lines of text any cell of the fault tables
	// takes; FaultsOverflow is set when one is wider than the page.
	FaultLines     int  `json:"faultLines"`
	FaultsOverflow bool `json:"faultsOverflow"`
	// Requests are the URLs the page loaded (itself included).
	Requests []string `json:"-"`
}

const readPage = `(async () => {
  await Promise.all([...document.images].map(i => i.decode().catch(() => null)));
  const st = document.getElementById('status');
  return {
    title: document.title,
    status: st ? st.textContent.trim() : '',
    verdicts: [...document.querySelectorAll('#verdicts tbody tr')].map(r => ({
      cls: r.className, cells: [...r.cells].map(c => c.textContent.trim())})),
    images: [...document.images].map(i => ({alt: i.alt, w: i.naturalWidth, h: i.naturalHeight,
      shown: Math.round(i.getBoundingClientRect().width)})),
    svgs: [...document.querySelectorAll('svg')].map(s => Math.round(s.getBoundingClientRect().width)),
    timeline: document.querySelectorAll('#timeline tbody tr').length,
    failover: document.querySelectorAll('#failover tbody tr').length,
    faultLines: Math.max(0, ...[...document.querySelectorAll('#failover td, #fault-impact td')].map(td => {
      const cs = getComputedStyle(td);
      const h = td.clientHeight - parseFloat(cs.paddingTop) - parseFloat(cs.paddingBottom);
      return Math.round(h / parseFloat(cs.lineHeight));
    })),
    faultsOverflow: [...document.querySelectorAll('#failover, #fault-impact')].some(t => t.scrollWidth > t.parentElement.clientWidth + 1),
  };
})()`

// Open loads file (an absolute path) in headless Chromium and reads the
// page. It skips the test when no Chromium is installed.
func Open(t *testing.T, file string) Page {
	t.Helper()
	exe := Chromium()
	if exe == "" {
		t.Skip("no Chromium binary (install Debian's chromium package, or set STRIPELAB_CHROMIUM); CI installs it")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	actx, acancel := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(exe), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck, chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1300, 1000))
	defer acancel()
	bctx, bcancel := chromedp.NewContext(actx)
	defer bcancel()

	var mu sync.Mutex
	var requests []string
	if err := chromedp.Listen(bctx, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok {
			mu.Lock()
			requests = append(requests, e.Request.URL)
			mu.Unlock()
		}
	}); err != nil {
		t.Fatalf("start %s: %v", exe, err)
	}
	page := "file://" + file
	if err := chromedp.Do(bctx, chromedp.Navigate(page)); err != nil {
		t.Fatalf("open %s: %v", page, err)
	}
	got, err := chromedp.Run(bctx, chromedp.Evaluate[Page](readPage, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("read the page: %v", err)
	}
	if shot := os.Getenv("STRIPELAB_SCREENSHOT"); shot != "" {
		if b, err := chromedp.Run(bctx, chromedp.FullScreenshot(90)); err == nil {
			_ = os.WriteFile(shot, b, 0o644)
		}
	}
	mu.Lock()
	got.Requests = append([]string(nil), requests...)
	mu.Unlock()
	return got
}

// CheckRendered fails the test when an image or inline SVG did not render
// or the page loaded anything from the network.
func (p Page) CheckRendered(t *testing.T) {
	t.Helper()
	for _, img := range p.Images {
		if img.Natural == 0 || img.NaturalH == 0 || img.Shown == 0 {
			t.Errorf("image %q did not render: natural %dx%d, shown %dpx wide", img.Alt, img.Natural, img.NaturalH, img.Shown)
		}
	}
	for i, w := range p.Svgs {
		if w == 0 {
			t.Errorf("inline svg %d has no width", i)
		}
	}
	for _, u := range p.Requests {
		if !strings.HasPrefix(u, "file://") && !strings.HasPrefix(u, "data:") {
			t.Errorf("the report made a network request: %s", u)
		}
	}
	if len(p.Requests) == 0 {
		t.Error("saw no request at all: the request listener is not working")
	}
}
