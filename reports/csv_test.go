package reports

import (
	"bytes"
	"encoding/csv"
	"strconv"
	"testing"
)

func TestWriteTimeseries(t *testing.T) {
	res := synthResult(t)
	var buf bytes.Buffer
	if err := WriteTimeseries(&buf, res); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatalf("read back: %v", err)
	}
	if len(rows) != len(res.Windows)+1 {
		t.Fatalf("%d rows, want %d", len(rows), len(res.Windows)+1)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	for i, row := range rows[1:] {
		w := &res.Windows[i]
		if got := row[col["offered"]]; got != strconv.FormatInt(w.Counts.Offered, 10) {
			t.Fatalf("row %d offered %s, want %d", i, got, w.Counts.Offered)
		}
		sum := int64(0)
		for _, name := range OutcomeNames {
			n, _ := strconv.ParseInt(row[col[name]], 10, 64)
			sum += n
		}
		if sum != w.Counts.Offered {
			t.Fatalf("row %d outcomes add to %d, offered %d", i, sum, w.Counts.Offered)
		}
	}
	check := func(win int, name, want string) {
		t.Helper()
		if got := rows[win+1][col[name]]; got != want {
			t.Errorf("window %d %s = %q, want %q", win, name, got, want)
		}
	}
	check(5, "warmup", "1")
	check(10, "warmup", "0")
	check(10, "faults_active", "")
	check(30, "faults_active", "0")
	check(85, "faults_active", "1")
	check(85, "availability_high", "1.000000")
	check(31, "time_s", "31.000")
	a, _ := strconv.ParseFloat(rows[86][col["availability_low"]], 64)
	if a > 0.5 {
		t.Errorf("low availability in the flash crowd = %v", a)
	}
	p99, err := strconv.ParseFloat(rows[11][col["p99_ms"]], 64)
	if err != nil || p99 < 2 || p99 > 250 {
		t.Errorf("p99_ms = %q", rows[11][col["p99_ms"]])
	}
}

func TestWriteTimeseriesEmptyWindow(t *testing.T) {
	r := handResult(2)
	r.Windows[1].Counts, r.Windows[1].ByPriority = Counts{}, [NumPriorities]Counts{}
	var buf bytes.Buffer
	if err := WriteTimeseries(&buf, r); err != nil {
		t.Fatal(err)
	}
	rows, _ := csv.NewReader(&buf).ReadAll()
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	if rows[2][col["availability"]] != "" || rows[2][col["p50_ms"]] != "" || rows[1][col["availability"]] != "1.000000" {
		t.Errorf("rows = %q", rows)
	}
}
