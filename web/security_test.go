package web

import (
	"bufio"
	"errors"
	"go/parser"
	"go/token"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// rawGet sends a request line exactly as written (no client-side
// cleaning or escaping) and returns the status and body.
func rawGet(t *testing.T, ts *httptest.Server, target string) (int, string) {
	t.Helper()
	conn, err := net.Dial("tcp", ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "GET "+target+" HTTP/1.1\r\nHost: "+ts.Listener.Addr().String()+"\r\nConnection: close\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("GET %s: %v", target, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestFilesStayInsideTheFolder tries every spelling of a path outside
// the results folder (plain, URL-encoded, double-encoded, backslashes,
// absolute, through symlinks to a file and to a folder outside): each
// must be a 404 that shows nothing of the file outside.
func TestFilesStayInsideTheFolder(t *testing.T) {
	base := t.TempDir()
	results := filepath.Join(base, "results")
	const secret = "SECRET-OUTSIDE-THE-FOLDER"
	must(t, os.MkdirAll(filepath.Join(results, "run"), 0o755))
	must(t, os.WriteFile(filepath.Join(base, "secret.txt"), []byte(secret), 0o644))
	must(t, os.WriteFile(filepath.Join(results, "run", "report.html"), []byte("inside"), 0o644))
	must(t, os.Symlink(filepath.Join(base, "secret.txt"), filepath.Join(results, "run", "link.txt")))
	must(t, os.Symlink("../../secret.txt", filepath.Join(results, "run", "rel-link.txt")))
	must(t, os.Symlink(base, filepath.Join(results, "outside")))
	_, ts := serve(t, Config{Results: results})

	code, body := rawGet(t, ts, "/files/run/report.html")
	if code != http.StatusOK || body != "inside" {
		t.Fatalf("a file inside the folder: %d %q", code, body)
	}
	attempts := []string{
		"/files/../secret.txt",
		"/files/run/../../secret.txt",
		"/files/%2e%2e/secret.txt",
		"/files/%2E%2E%2Fsecret.txt",
		"/files/..%2fsecret.txt",
		"/files/run/..%2f..%2fsecret.txt",
		"/files/%252e%252e/secret.txt",
		"/files/%252e%252e%252fsecret.txt",
		"/files/run/%252e%252e%252f%252e%252e%252fsecret.txt",
		"/files/..%5csecret.txt",
		"/files/run\\..\\..\\secret.txt",
		"/files//" + strings.TrimPrefix(filepath.Join(base, "secret.txt"), "/"),
		"/files/%2f" + strings.ReplaceAll(strings.TrimPrefix(filepath.Join(base, "secret.txt"), "/"), "/", "%2f"),
		"/files/" + filepath.Join(base, "secret.txt"),
		"/files/run/link.txt",
		"/files/run/rel-link.txt",
		"/files/outside/secret.txt",
		"/files/outside/results/run/report.html",
		"/files/run",
		"/files/run/",
		"/files/",
		"/files/.",
		"/files/run/%00report.html",
		"/static/../files/../secret.txt",
	}
	for _, a := range attempts {
		code, body := rawGet(t, ts, a)
		if code != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want 404", a, code)
		}
		if strings.Contains(body, secret) {
			t.Errorf("GET %s served the file outside the folder", a)
		}
	}
}

// TestResultFilesAreSandboxed checks that a file of the folder (which
// anyone who can write there controls) cannot script the dashboard.
func TestResultFilesAreSandboxed(t *testing.T) {
	results := t.TempDir()
	must(t, os.WriteFile(filepath.Join(results, "evil.html"), []byte("<script>alert(1)</script>"), 0o644))
	_, ts := serve(t, Config{Results: results})
	resp, err := ts.Client().Get(ts.URL + "/files/evil.html")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.HasPrefix(csp, "sandbox") || !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("a result file is served with CSP %q; want a sandbox without scripts", csp)
	}
	if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Error("no X-Content-Type-Options: nosniff")
	}
}

func TestOversizedBodyGets413(t *testing.T) {
	_, ts := serve(t, Config{Results: t.TempDir(), MaxBodyBytes: 1024})
	big := strings.Repeat("x", 4096)
	if code, _ := post(t, ts, "/api/validate", "text/plain", strings.NewReader(big)); code != http.StatusRequestEntityTooLarge {
		t.Errorf("a 4 KiB body with Content-Length: status %d, want 413", code)
	}
	// Without a length (chunked), the limit is enforced while reading.
	if code, _ := post(t, ts, "/api/jobs", "application/json", io.MultiReader(strings.NewReader(big))); code != http.StatusRequestEntityTooLarge {
		t.Errorf("a 4 KiB chunked body: status %d, want 413", code)
	}
	if code, _ := post(t, ts, "/api/validate", "text/plain", strings.NewReader("name: x\n")); code != http.StatusOK {
		t.Errorf("a small body: status %d, want 200", code)
	}
}

func TestCrossOriginPostGets403(t *testing.T) {
	_, ts := serve(t, Config{Results: t.TempDir()})
	send := func(header map[string]string, path string) int {
		req, _ := http.NewRequest(http.MethodPost, ts.URL+path, strings.NewReader("name: x\n"))
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, c := range []struct {
		name   string
		header map[string]string
		want   int
	}{
		{"another origin", map[string]string{"Origin": "http://evil.example"}, http.StatusForbidden},
		{"another port", map[string]string{"Origin": "http://127.0.0.1:1"}, http.StatusForbidden},
		{"cross-site fetch", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": ts.URL}, http.StatusForbidden},
		{"no Origin at all", nil, http.StatusForbidden},
		{"same origin", map[string]string{"Origin": ts.URL}, http.StatusOK},
		{"same-origin fetch", map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": ts.URL}, http.StatusOK},
	} {
		if got := send(c.header, "/api/validate"); got != c.want {
			t.Errorf("%s: status %d, want %d", c.name, got, c.want)
		}
	}
	if got := send(map[string]string{"Origin": "http://evil.example"}, "/api/jobs/x/cancel"); got != http.StatusForbidden {
		t.Errorf("cross-origin cancel: status %d, want 403", got)
	}
}

// TestStateChangesArePosts checks that the endpoints that start or stop
// runs answer nothing to a GET, and that pages take no POST.
func TestStateChangesArePosts(t *testing.T) {
	_, ts := serve(t, Config{Results: t.TempDir()})
	for _, p := range []string{"/api/jobs", "/api/validate", "/api/jobs/x/cancel"} {
		if code, _ := get(t, ts, p); code != http.StatusMethodNotAllowed {
			t.Errorf("GET %s: status %d, want 405", p, code)
		}
	}
	if code, _ := post(t, ts, "/playground", "text/plain", strings.NewReader("")); code != http.StatusMethodNotAllowed {
		t.Errorf("POST /playground: status %d, want 405", code)
	}
}

func TestOnlyLoopbackHostNames(t *testing.T) {
	_, ts := serve(t, Config{Results: t.TempDir()})
	for host, want := range map[string]int{"evil.example": http.StatusMisdirectedRequest, "localhost:8080": http.StatusOK,
		"127.0.0.1": http.StatusOK, "[::1]:80": http.StatusOK, "10.0.0.1:8080": http.StatusMisdirectedRequest} {
		req, _ := http.NewRequest(http.MethodGet, ts.URL+"/", nil)
		req.Host = host
		resp, err := ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("Host %s: status %d, want %d", host, resp.StatusCode, want)
		}
	}
	_, open := serve(t, Config{Results: t.TempDir(), AnyHost: true})
	req, _ := http.NewRequest(http.MethodGet, open.URL+"/", nil)
	req.Host = "dashboard.example"
	resp, err := open.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("with AnyHost, Host dashboard.example: status %d", resp.StatusCode)
	}
}

func TestDefaultAddressIsLoopback(t *testing.T) {
	host, _, err := net.SplitHostPort(DefaultAddr)
	if err != nil || !net.ParseIP(host).IsLoopback() {
		t.Fatalf("DefaultAddr %s is not a loopback address", DefaultAddr)
	}
	if err := CheckAddr(DefaultAddr, false); err != nil {
		t.Errorf("the default address is refused: %v", err)
	}
	for addr, ok := range map[string]bool{"127.0.0.1:0": true, "localhost:8080": true, "[::1]:8080": true, "127.0.3.7:9000": true,
		"0.0.0.0:8080": false, ":8080": false, "[::]:8080": false, "192.168.1.10:8080": false, "example.com:80": false} {
		err := CheckAddr(addr, false)
		if (err == nil) != ok {
			t.Errorf("CheckAddr(%s): %v, want accepted=%v", addr, err, ok)
		}
		if !ok && !errors.Is(err, ErrNotLoopback) {
			t.Errorf("CheckAddr(%s): %v does not match ErrNotLoopback", addr, err)
		}
		if err := CheckAddr(addr, true); err != nil {
			t.Errorf("CheckAddr(%s, allowRemote): %v", addr, err)
		}
	}
}

func TestServerTimeoutsSet(t *testing.T) {
	srv := HTTPServer(http.NotFoundHandler())
	for name, d := range map[string]int64{"ReadHeaderTimeout": int64(srv.ReadHeaderTimeout), "ReadTimeout": int64(srv.ReadTimeout),
		"WriteTimeout": int64(srv.WriteTimeout), "IdleTimeout": int64(srv.IdleTimeout)} {
		if d <= 0 {
			t.Errorf("%s is not set", name)
		}
	}
	if srv.MaxHeaderBytes <= 0 {
		t.Error("MaxHeaderBytes is not set")
	}
}

// TestNoShell fails if the web package can start a program: scenario
// text reaches the simulator only, never a shell or another process.
func TestNoShell(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		pf, err := parser.ParseFile(fset, f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range pf.Imports {
			if p, _ := strconv.Unquote(imp.Path.Value); p == "os/exec" || p == "syscall" || p == "golang.org/x/sys/unix" {
				t.Errorf("%s imports %s: the dashboard must not start programs", f, p)
			}
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
