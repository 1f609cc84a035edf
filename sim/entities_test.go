package sim

import (
	"testing"
	"unsafe"
)

// TestRequestRecordSize keeps a request record at four cache lines: a
// header of one line and the chain of frames (docs/architecture.md).
func TestRequestRecordSize(t *testing.T) {
	if n := unsafe.Sizeof(request{}); n != 256 {
		t.Errorf("a request record is %d bytes, want 256", n)
	}
	if n := unsafe.Offsetof(request{}.frames); n != 64 {
		t.Errorf("the frames start at byte %d, want 64 (one header line)", n)
	}
}
