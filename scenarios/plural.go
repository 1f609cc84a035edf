package scenarios

import (
	"strconv"
	"strings"
)

// Quantity writes n and a noun, in the plural unless n is 1: "1 fault",
// "2 faults", "3 cities". Reports and messages use it so that a count of
// one never reads "1 faults".
func Quantity[N ~int | ~int64](n N, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.FormatInt(int64(n), 10) + " " + Plural(noun)
}

// Plural is the plural of a noun of the scenario vocabulary: city ->
// cities, copy -> copies, machine -> machines; in a phrase the last word
// takes it (shard primary -> shard primaries).
func Plural(noun string) string {
	if n := len(noun); n > 1 && noun[n-1] == 'y' && !strings.ContainsRune("aeiou", rune(noun[n-2])) {
		return noun[:n-1] + "ies"
	}
	if strings.HasSuffix(noun, "s") || strings.HasSuffix(noun, "x") || strings.HasSuffix(noun, "ch") {
		return noun + "es"
	}
	return noun + "s"
}
