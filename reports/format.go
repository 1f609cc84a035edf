package reports

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// FormatPercent shows a share as a percentage with at least two decimals,
// truncated rather than rounded so that a value below an objective never
// prints as the objective itself (99.949% shows as 99.94%, not 99.95%).
// Exactly 1 shows as 100%.
func FormatPercent(v float64) string { return formatPercentDigits(v, 2) }

func formatPercentDigits(v float64, digits int) string {
	if math.IsNaN(v) {
		return "n/a"
	}
	if v >= 1 {
		return "100%"
	}
	scale := math.Pow10(digits)
	// The small epsilon undoes float noise such as 0.995*100 = 99.49999...
	x := math.Floor(v*100*scale+1e-6) / scale
	return strconv.FormatFloat(x, 'f', digits, 64) + "%"
}

// percentDigits is how many decimals a percentage target needs (at least
// two), so that measured values are shown as precisely as their target.
func percentDigits(target float64) int {
	s := trimFloat(target*100, 6)
	if i := strings.IndexByte(s, '.'); i >= 0 && len(s)-i-1 > 2 {
		return min(len(s)-i-1, 6)
	}
	return 2
}

// FormatLatency shows a latency or a duration in ns for people: 850µs,
// 2.5ms, 212ms, 1.5s, 2m30s; a negative value is "never".
func FormatLatency(ns int64) string {
	switch {
	case ns < 0:
		return "never"
	case ns == 0:
		return "0s"
	case ns < int64(time.Millisecond):
		return strconv.FormatInt(ns/1000, 10) + "µs"
	case ns < 10*int64(time.Millisecond):
		return trimFloat(float64(ns)/1e6, 2) + "ms"
	case ns < int64(time.Second):
		return strconv.FormatInt((ns+500_000)/1_000_000, 10) + "ms"
	case ns < int64(time.Minute):
		return trimFloat(float64(ns)/1e9, 2) + "s"
	}
	return time.Duration(ns).Round(time.Second).String()
}

// FormatTime shows a point of run time (ns from the start) the way Go
// prints durations: 0s, 1m5s, 1m5.5s.
func FormatTime(ns int64) string {
	if ns < 0 {
		return "never"
	}
	return time.Duration(ns).Round(time.Millisecond).String()
}

func trimFloat(v float64, prec int) string {
	s := strconv.FormatFloat(v, 'f', prec, 64)
	if strings.IndexByte(s, '.') >= 0 {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// formatRange shows a window of run time.
func formatRange(start, end int64) string {
	return FormatTime(start) + "–" + FormatTime(end)
}

// RTONote says what an RTO means against the fault's length (both in ns,
// window the metrics window): "" when availability recovered while the
// fault lasted; "recovered only when the fault ended" when the last window
// below the objective is the one the fault ended in (the system did not
// recover by itself: the fault going away did it); "recovered N after the
// fault ended" when it took longer still.
func RTONote(rto, faultLen, window int64) string {
	switch {
	case rto <= 0 || faultLen <= 0 || rto < faultLen:
		return ""
	case rto-faultLen < window:
		return "recovered only when the fault ended"
	}
	return "recovered " + FormatLatency(rto-faultLen) + " after the fault ended"
}
