package browsertest

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// SkipMessage is the reason given when no Chromium is installed.
const SkipMessage = "no Chromium binary (install Debian's chromium package, or set STRIPELAB_CHROMIUM); CI installs it"

// Start launches a headless Chromium for a test that drives pages of a
// server (addresses on loopback) and returns its chromedp context, closed
// when the test ends. It skips the test when no Chromium is installed.
func Start(t *testing.T, timeout time.Duration) context.Context {
	t.Helper()
	exe := Chromium()
	if exe == "" {
		t.Skip(SkipMessage)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	actx, acancel := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(exe), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck, chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1300, 1000))
	bctx, bcancel := chromedp.NewContext(actx)
	t.Cleanup(func() { bcancel(); acancel(); cancel() })
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start %s: %v", exe, err)
	}
	return bctx
}

// Screenshot writes a full-page PNG (quality 100 means PNG) of the current page to dir/name.png
// and returns its path.
func Screenshot(t *testing.T, ctx context.Context, dir, name string) string {
	t.Helper()
	var b []byte
	var err error
	for try := 0; try < 20; try++ { // right after a navigation the page may not be laid out yet
		if b, err = chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name+".png")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
