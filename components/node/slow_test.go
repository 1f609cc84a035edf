package node

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestSlowHandler: the zero Slow is 1; a good factor is taken, a bad one
// answers 400 with a message and leaves the factor as it was.
func TestSlowHandler(t *testing.T) {
	var s Slow
	if f := s.Factor(); f != 1 {
		t.Fatalf("zero Slow: factor %v, want 1", f)
	}
	for _, tc := range []struct {
		q    string
		code int
		want float64
	}{{"factor=2.5", 200, 2.5}, {"factor=0", 400, 2.5}, {"factor=x", 400, 2.5}, {"", 400, 2.5}, {"factor=1", 200, 1}} {
		w := httptest.NewRecorder()
		s.ServeHTTP(w, httptest.NewRequest("POST", "/admin/slow?"+tc.q, nil))
		if w.Code != tc.code || (w.Code == http.StatusBadRequest && w.Body.Len() == 0) {
			t.Errorf("%q: %d %q, want %d with a message", tc.q, w.Code, w.Body, tc.code)
		}
		if f := s.Factor(); f != tc.want {
			t.Errorf("after %q: factor %v, want %v", tc.q, f, tc.want)
		}
	}
}

// FuzzSlowFactor: the admin factor parser accepts only a positive finite
// factor up to 1e6 and never panics.
func FuzzSlowFactor(f *testing.F) {
	for _, s := range []string{"1", "2.5", "0", "-1", "NaN", "Inf", "1e7", "x", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseFactor(s)
		if err == nil && !(v > 0 && v <= 1e6) {
			t.Fatalf("%q accepted as %v", s, v)
		}
	})
}
