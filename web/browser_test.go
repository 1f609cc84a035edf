package web

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/stripelab/stripelab/internal/browsertest"
	"github.com/stripelab/stripelab/reports"
	"github.com/stripelab/stripelab/scenarios"
)

// screenshotDir is where the browser tests leave a screenshot of each
// page they checked: $STRIPELAB_SCREENSHOTS, or stripelab-web-screenshots
// under the temporary folder (it outlives the test, for people to look).
func screenshotDir(t *testing.T) string {
	t.Helper()
	if d := os.Getenv("STRIPELAB_SCREENSHOTS"); d != "" {
		return d
	}
	return filepath.Join(os.TempDir(), "stripelab-web-screenshots")
}

// skipBrowser skips a browser test without Chromium, and with -short
// (the race detector's runs: these tests check pages, not the server's
// concurrency, which the HTTP tests cover, and make test runs them).
func skipBrowser(t *testing.T) {
	t.Helper()
	if browsertest.Chromium() == "" {
		t.Skip(browsertest.SkipMessage)
	}
	if testing.Short() {
		t.Skip("browser tests are left to the full run (make test); -short skips them")
	}
}

func do(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatal(err)
	}
}

func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// poll evaluates js until it is true, across navigations (a page being
// replaced answers with an error, which is retried).
func poll(t *testing.T, ctx context.Context, js, what string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => { try { return !!(`+js+`); } catch (e) { return false; } })()`))
		if err == nil && ok {
			return
		}
		last = err
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("waiting for %s: timed out (last error: %v)", what, last)
}

func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	t.Logf("screenshot: %s", browsertest.Screenshot(t, ctx, screenshotDir(t), name))
}

// bandProbe reads pixels of a chart's plot canvas in the middle of the
// first fault band and in a steady stretch before it, at several heights:
// how many of them have the band's orange tint.
const bandProbe = `(() => {
  const g = window.stripelab.charts.availability, s = window.stripelab.series;
  const f = s.bands.find(b => b.kind === 'fault');
  const area = g.getArea(), ctx = g.hidden_.getContext('2d'), r = g.hidden_.width / g.hidden_.clientWidth;
  const tinted = x => {
    let n = 0;
    for (let i = 1; i <= 9; i++) {
      const y = area.y + area.h * i / 10;
      const [R0, G0, B0, A] = ctx.getImageData(Math.round(x * r), Math.round(y * r), 1, 1).data;
      const over = c => c * A / 255 + 255 * (1 - A / 255); // the canvas is transparent: see it over white
      const [R, G, B] = [over(R0), over(G0), over(B0)];
      if (R > G + 8 && G > B + 8 && R > 200) n++;
    }
    return n;
  };
  const before = (s.warmup_s + f.start_s) / 2;
  return {inside: tinted(g.toDomXCoord((f.start_s + f.end_s) / 2)), outside: tinted(g.toDomXCoord(before)),
    bands: Number(document.getElementById('chart-availability').dataset.bands || 0)};
})()`

// TestDashboardInBrowser opens the dashboard over the fixture in
// headless Chromium: the runs list, one run (verdicts, charts with a
// fault band), a comparison made by ticking two runs, an analysis, and a
// run page with scripts blocked.
func TestDashboardInBrowser(t *testing.T) {
	skipBrowser(t)
	_, ts := serve(t, Config{Results: fixture(t)})
	ctx := browsertest.Start(t, 2*time.Minute)

	do(t, ctx, chromedp.Navigate(ts.URL+"/"))
	ids := eval[[]string](t, ctx, `[...document.querySelectorAll('table.runs tbody tr')].map(r => r.dataset.id)`)
	for id := range fixtureRuns {
		if !slices.Contains(ids, id) {
			t.Errorf("the runs page does not list %s (it lists %v)", id, ids)
		}
	}
	shot(t, ctx, "runs")

	t.Run("run", func(t *testing.T) { browseRun(t, ctx, ts) })
	t.Run("compare", func(t *testing.T) { browseCompare(t, ctx, ts) })
	do(t, ctx, chromedp.Navigate(ts.URL+"/analysis?id=failover"))
	if n := eval[int](t, ctx, `document.querySelectorAll('#keptruns tbody tr').length`); n != 1 {
		t.Errorf("the failover analysis shows %d sets of kept runs, want 1", n)
	}
	shot(t, ctx, "analysis")
	t.Run("no-scripts", func(t *testing.T) { browseWithoutScripts(t, ctx, ts) })
}

func browseRun(t *testing.T, ctx context.Context, ts *httptest.Server) {
	res := readFixtureResult(t, "runs/az-failover")
	do(t, ctx, chromedp.Navigate(ts.URL+runURL("runs/az-failover")))
	poll(t, ctx, `document.getElementById('charts').dataset.ready === '1'`, "the charts")
	rows := eval[[]string](t, ctx, `[...document.querySelectorAll('#verdicts tbody tr')].map(r => r.className + ' ' + r.cells[0].textContent)`)
	if len(rows) != len(res.Verdicts) {
		t.Errorf("%d verdict rows, want %d: %v", len(rows), len(res.Verdicts), rows)
	}
	for i, v := range res.Verdicts {
		want := "pass "
		if !v.Pass {
			want = "fail "
		}
		if i < len(rows) && rows[i] != want+v.Name() {
			t.Errorf("verdict row %d is %q, want %q", i, rows[i], want+v.Name())
		}
	}
	charts := eval[int](t, ctx, `document.querySelectorAll('#charts .chart canvas').length`)
	if charts < 4 {
		t.Errorf("%d chart canvases, want at least one per chart (4)", charts)
	}
	p := eval[struct{ Inside, Outside, Bands int }](t, ctx, bandProbe)
	if p.Bands != len(res.Faults) || p.Inside < 5 || p.Outside > 1 {
		t.Errorf("fault band: %d drawn, %d of 9 pixels tinted inside it, %d outside", p.Bands, p.Inside, p.Outside)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('#heatmap tbody tr').length`); n != len(res.Sets) {
		t.Errorf("the heat map has %d rows, want one per set (%d)", n, len(res.Sets))
	}
	shot(t, ctx, "run")
}

func browseCompare(t *testing.T, ctx context.Context, ts *httptest.Server) {
	do(t, ctx, chromedp.Navigate(ts.URL+"/"),
		chromedp.Click(chromedp.CSS(`input[value="runs/az-failover"]`)),
		chromedp.Click(chromedp.CSS(`input[value="runs/az-failover-seed4"]`)),
		chromedp.Click(chromedp.CSS(`#cmp button`)))
	poll(t, ctx, `location.pathname === '/compare' && document.getElementById('overlay') && document.getElementById('overlay').dataset.ready === '1'`, "the comparison")
	// The baseline is the first ticked run in the list's order.
	order := eval[[]string](t, ctx, `[...document.querySelectorAll('#compared tbody tr')].map(r => r.dataset.id)`)
	if len(order) != 2 || !slices.Contains(order, "runs/az-failover") || !slices.Contains(order, "runs/az-failover-seed4") {
		t.Fatalf("compared runs %v", order)
	}
	base, cur := readFixtureResult(t, order[0]), readFixtureResult(t, order[1])
	changes, err := reports.Diff(base, cur, reports.DefaultTolerance)
	if err != nil {
		t.Fatal(err)
	}
	got := eval[struct{ Rows, Regressions, Series int }](t, ctx, `({rows: document.querySelectorAll('.difftable tbody tr').length,
	  regressions: document.querySelectorAll('.difftable tr.regression').length,
	  series: window.stripelab.charts.availability.numColumns() - 1})`)
	if got.Rows != len(changes) || got.Regressions != reports.Regressions(changes) || got.Series != 2 {
		t.Errorf("diff: %d rows (%d regressions), %d overlaid series; want %d rows (%d regressions), 2 series",
			got.Rows, got.Regressions, got.Series, len(changes), reports.Regressions(changes))
	}
	link := eval[string](t, ctx, `document.getElementById('permalink').getAttribute('href')`)
	if want := compareURL(order, ""); link != want {
		t.Errorf("permalink %s, want %s", link, want)
	}
	shot(t, ctx, "compare")
}

// browseWithoutScripts checks the essentials with scripts blocked: the
// verdict table and the static PNG plots in the charts' places.
func browseWithoutScripts(t *testing.T, ctx context.Context, ts *httptest.Server) {
	if _, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
		t.Fatal(err)
	}
	defer chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: false})
	do(t, ctx, chromedp.Navigate(ts.URL+runURL("runs/az-failover")))
	got := eval[struct {
		Verdicts, Canvases, Images, Decoded int
		Ready                               string
	}](t, ctx, `(async () => {
	  const imgs = [...document.querySelectorAll('#charts .chart img')];
	  await Promise.all(imgs.map(i => i.decode().catch(() => null)));
	  return {verdicts: document.querySelectorAll('#verdicts tbody tr').length,
	    canvases: document.querySelectorAll('#charts canvas').length, images: imgs.length,
	    decoded: imgs.filter(i => i.naturalWidth > 0).length, ready: document.getElementById('charts').dataset.ready || ''};
	})()`)
	if got.Verdicts == 0 || got.Canvases != 0 || got.Ready != "" || got.Images != 4 || got.Decoded != 4 {
		t.Errorf("with scripts blocked: %+v; want verdicts, no canvas, the 4 static plots shown", got)
	}
	shot(t, ctx, "run-no-scripts")
}

// TestPlaygroundInBrowser edits a scenario in the page: a broken one
// shows its error at the validator's line and column; a fixed one runs,
// with progress events received before the done event, and its run page
// opens.
func TestPlaygroundInBrowser(t *testing.T) {
	skipBrowser(t)
	dir := t.TempDir()
	_, ts := serve(t, Config{Results: dir})
	ctx := browsertest.Start(t, 2*time.Minute)
	var mu sync.Mutex
	var events []string
	if err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*network.EventEventSourceMessageReceived); ok {
			mu.Lock()
			events = append(events, e.EventName)
			mu.Unlock()
		}
	}); err != nil {
		t.Fatal(err)
	}
	do(t, ctx, chromedp.Navigate(ts.URL+"/playground?from=ci/smoke"))
	poll(t, ctx, `document.getElementById('check').dataset.state === 'ok'`, "the shipped scenario to validate")

	broken, line, col := brokenSmoke(t)
	setText(t, ctx, broken)
	poll(t, ctx, `document.getElementById('check').dataset.state === 'bad'`, "the error")
	got := eval[struct {
		Gutter      []int
		Line, Col   int
		Text, Under string
	}](t, ctx, `({gutter: [...document.querySelectorAll('#gutter .err')].map(e => Number(e.dataset.line)),
	  line: Number(document.querySelector('#errors li').dataset.line), col: Number(document.querySelector('#errors li').dataset.col),
	  text: document.querySelector('#errors li').textContent,
	  under: document.querySelector('#marks .errline .at').textContent})`)
	if !slices.Equal(got.Gutter, []int{line}) || got.Line != line || got.Col != col {
		t.Errorf("the editor marks line %v and lists %d:%d; the validator says %d:%d", got.Gutter, got.Line, got.Col, line, col)
	}
	if _, err := scenarios.Parse(playgroundFile, []byte(broken)); err == nil || !strings.Contains(got.Text, "workload.rate") || got.Under != "l" {
		t.Errorf("error item %q, marked character %q (want the l of lots)", got.Text, got.Under)
	}
	// Clicking the error brings its line into the editor's view.
	do(t, ctx, chromedp.Click(chromedp.CSS("#errors li")))
	inView := eval[bool](t, ctx, `(() => { const ta = document.getElementById('text').getBoundingClientRect();
	  const l = document.querySelector('#marks .errline').getBoundingClientRect();
	  return l.top >= ta.top && l.bottom <= ta.bottom; })()`)
	if !inView {
		t.Error("after clicking the error, its line is not in the editor's view")
	}
	shot(t, ctx, "playground-error")

	good, _ := libraryText("ci/smoke")
	setText(t, ctx, good)
	poll(t, ctx, `document.getElementById('check').dataset.state === 'ok' && !document.getElementById('run').disabled`, "the fixed scenario to validate")
	do(t, ctx, chromedp.Click(chromedp.ID("run")))
	poll(t, ctx, `location.pathname === '/run' && document.querySelectorAll('#verdicts tbody tr').length > 0`, "the run page of the playground's run")
	mu.Lock()
	seen := append([]string(nil), events...)
	mu.Unlock()
	done := slices.Index(seen, "done")
	if done < 1 || slices.Index(seen, "progress") != 0 || slices.ContainsFunc(seen[:done], func(s string) bool { return s != "progress" }) {
		t.Errorf("event stream %v: want progress events, then done", seen)
	}
	status := eval[string](t, ctx, `document.getElementById('status').textContent`)
	if status != "PASS" {
		t.Errorf("the playground's run of ci/smoke: %s", status)
	}
	runs := decode[[]runInfo](t, mustGet(t, ts, "/api/runs"))
	if len(runs) != 1 || !strings.HasPrefix(runs[0].ID, playgroundDir+"/") {
		t.Errorf("the runs list after the playground run: %+v", runs)
	}
	poll(t, ctx, `document.getElementById('charts').dataset.ready === '1'`, "the charts of the playground's run")
	t.Logf("%d progress events before done", done)
	shot(t, ctx, "playground-run")
}

// setText replaces the editor's text as typing would (an input event).
func setText(t *testing.T, ctx context.Context, text string) {
	t.Helper()
	js, _ := json.Marshal(text)
	eval[bool](t, ctx, `(() => { const t = document.getElementById('text'); t.value = `+string(js)+`;
	  t.dispatchEvent(new Event('input')); return true; })()`)
}
