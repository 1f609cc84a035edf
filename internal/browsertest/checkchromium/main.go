// Command checkchromium prints one line when the browser tests will be
// skipped for want of a Chromium, and nothing otherwise; make test runs it
// after the tests, whose skips go test does not show without -v.
package main

import (
	"fmt"

	"github.com/stripelab/stripelab/internal/browsertest"
)

func main() {
	if msg := browsertest.SkipNotice(); msg != "" {
		fmt.Println(msg)
	}
}
