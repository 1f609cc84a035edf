package reports

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// chromiumPath finds a Chromium to drive: $STRIPELAB_CHROMIUM, Debian's
// /usr/bin/chromium, or chromium / chromium-browser / google-chrome on the
// PATH. It never downloads one.
func chromiumPath() string {
	if p := os.Getenv("STRIPELAB_CHROMIUM"); p != "" {
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

// pageReport is what the page script reads back from the rendered report.
type pageReport struct {
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
}

const readReport = `(async () => {
  await Promise.all([...document.images].map(i => i.decode().catch(() => null)));
  return {
    title: document.title,
    status: document.getElementById('status').textContent.trim(),
    verdicts: [...document.querySelectorAll('#verdicts tbody tr')].map(r => ({
      cls: r.className, cells: [...r.cells].map(c => c.textContent.trim())})),
    images: [...document.images].map(i => ({alt: i.alt, w: i.naturalWidth, h: i.naturalHeight,
      shown: Math.round(i.getBoundingClientRect().width)})),
    svgs: [...document.querySelectorAll('svg')].map(s => Math.round(s.getBoundingClientRect().width)),
    timeline: document.querySelectorAll('#timeline tbody tr').length,
    failover: document.querySelectorAll('#failover tbody tr').length,
  };
})()`

// TestReportInBrowser opens report.html from disk in headless Chromium and
// checks that the verdict table and every plot rendered, with no request
// leaving the file.
func TestReportInBrowser(t *testing.T) {
	exe := chromiumPath()
	if exe == "" {
		t.Skip("no Chromium binary (install Debian's chromium package, or set STRIPELAB_CHROMIUM); CI installs it")
	}
	res := synthResult(t)
	dir := t.TempDir()
	if err := WriteAll(res, dir); err != nil {
		t.Fatal(err)
	}
	page := "file://" + filepath.Join(dir, FileHTML)

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
	if err := chromedp.Do(bctx, chromedp.Navigate(page)); err != nil {
		t.Fatalf("open %s: %v", page, err)
	}
	got, err := chromedp.Run(bctx, chromedp.Evaluate[pageReport](readReport, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("read the page: %v", err)
	}
	if shot := os.Getenv("STRIPELAB_SCREENSHOT"); shot != "" {
		if b, err := chromedp.Run(bctx, chromedp.FullScreenshot(90)); err == nil {
			_ = os.WriteFile(shot, b, 0o644)
		}
	}

	if !strings.HasPrefix(got.Title, "synthetic: FAIL") || got.Status != "FAIL" {
		t.Errorf("title %q, status %q", got.Title, got.Status)
	}
	if len(got.Verdicts) != len(res.Verdicts) {
		t.Fatalf("%d verdict rows, want %d", len(got.Verdicts), len(res.Verdicts))
	}
	for i, row := range got.Verdicts {
		v := res.Verdicts[i]
		want := map[bool]string{true: "pass", false: "fail"}[v.Pass]
		if row.Class != want || len(row.Cells) != 6 || row.Cells[1] != v.SLO || row.Cells[2] != v.Scope || row.Cells[4] != v.Measured {
			t.Errorf("verdict row %d = %q %q; want %s %s [%s] %s", i, row.Class, row.Cells, want, v.SLO, v.Scope, v.Measured)
		}
	}
	if len(got.Images) < 6 {
		t.Errorf("%d images, want the 6 plots", len(got.Images))
	}
	for _, img := range got.Images {
		if img.Natural == 0 || img.NaturalH == 0 || img.Shown == 0 {
			t.Errorf("image %q did not render: natural %dx%d, shown %dpx wide", img.Alt, img.Natural, img.NaturalH, img.Shown)
		}
	}
	for i, w := range got.Svgs {
		if w == 0 {
			t.Errorf("inline svg %d has no width", i)
		}
	}
	if got.Timeline < 6 || got.Failover != len(res.Faults) {
		t.Errorf("timeline rows %d, failover rows %d", got.Timeline, got.Failover)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, u := range requests {
		if !strings.HasPrefix(u, "file://") && !strings.HasPrefix(u, "data:") {
			t.Errorf("the report made a network request: %s", u)
		}
	}
	if len(requests) == 0 {
		t.Error("saw no request at all: the request listener is not working")
	}
}
