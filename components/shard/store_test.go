package shard

import (
	"io"
	"log/slog"
	"slices"
	"testing"
)

// TestIdsOf: a user's key lists the ids of the writes to it, taken here
// or imported with it (entries with the marker bit set), never a move
// marker nor a neighbouring user's write; a reset forgets them.
func TestIdsOf(t *testing.T) {
	st, err := openStore(t.TempDir(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	es := []Entry{
		{Seq: 1, Key: 7, ID: "3.0", Value: []byte("a")},
		{Seq: 2, Key: 8, ID: "4.0", Value: []byte("b")},
		{Seq: 3, Key: markerKey | 7, ID: "1.2"},          // imported with user 7's key
		{Seq: 4, Key: markerKey | 7, ID: outID(0, 7)},    // a marker
		{Seq: 5, Key: 7, ID: "10.1", Value: []byte("c")}, // written after
		{Seq: 6, Key: 6, ID: "5.0", Value: []byte("d")},
	}
	if err := st.apply(es, false); err != nil {
		t.Fatal(err)
	}
	ids, err := st.idsOf(7)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"1.2", "10.1", "3.0"}; !slices.Equal(ids, want) {
		t.Fatalf("ids of user 7: %q, want %q", ids, want)
	}
	if ids, _ := st.idsOf(9); len(ids) != 0 {
		t.Fatalf("ids of user 9, never written: %q", ids)
	}
	if err := st.apply([]Entry{{Seq: 1, Key: 8, ID: "9.0"}}, true); err != nil {
		t.Fatal(err)
	}
	if ids, _ := st.idsOf(7); len(ids) != 0 {
		t.Fatalf("ids of user 7 after a reset: %q", ids)
	}
	if ids, _ := st.idsOf(8); !slices.Equal(ids, []string{"9.0"}) {
		t.Fatalf("ids of user 8 after a reset: %q", ids)
	}
}
