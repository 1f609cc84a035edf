package browsertest

import (
	"os/exec"
	"strings"
	"testing"
)

// TestMakeTestSaysWhenBrowserTestsSkip checks that make test prints one
// visible line when no Chromium is found: the test target runs
// checkchromium, which prints SkipNotice.
func TestMakeTestSaysWhenBrowserTestsSkip(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("no make")
	}
	recipe, err := exec.Command("make", "-C", "../..", "-n", "test").CombinedOutput()
	if err != nil {
		t.Fatalf("make -n test: %v\n%s", err, recipe)
	}
	var check string
	for _, line := range strings.Split(string(recipe), "\n") {
		if strings.Contains(line, "./internal/browsertest/checkchromium") {
			check = line
		}
	}
	if check == "" {
		t.Fatalf("make test does not run checkchromium:\n%s", recipe)
	}
	t.Setenv("STRIPELAB_CHROMIUM", "none")
	cmd := exec.Command("sh", "-c", check)
	cmd.Dir = "../.."
	out, err := cmd.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != SkipNotice() || SkipNotice() == "" {
		t.Errorf("with no Chromium, %q printed %q (%v); want the one line %q", check, out, err, SkipNotice())
	}
	t.Setenv("STRIPELAB_CHROMIUM", "/usr/bin/chromium")
	if out, err := exec.Command("sh", "-c", "cd ../.. && "+check).CombinedOutput(); err != nil || len(out) != 0 {
		t.Errorf("with a Chromium, %q printed %q (%v); want nothing", check, out, err)
	}
}
