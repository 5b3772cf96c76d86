package testdata

import (
	"os"
	"os/exec"
	"testing"
)

// The browser tests run a node script that drives Debian's chromium
// through playwright-core (npm, found through NODE_PATH). They skip, saying
// what is missing, unless QILIN_REQUIRE_BROWSER=1 (as .ci/run sets) makes
// that a failure. QILIN_CHROMIUM names another browser binary.
const (
	EnvRequireBrowser = "QILIN_REQUIRE_BROWSER"
	EnvChromium       = "QILIN_CHROMIUM"
	// EnvScreenshots names a folder that keeps a browser test's
	// screenshots (else they go with the test's temporary folder).
	EnvScreenshots = "QILIN_SCREENSHOTS"
)

// Browser returns the node and chromium binaries for a browser test, or
// skips t (fails it under QILIN_REQUIRE_BROWSER=1) saying what is missing;
// test names the test in that message.
func Browser(t testing.TB, test string) (node, chromium string) {
	t.Helper()
	missing := func(what string) {
		t.Helper()
		SkipMissing(t, EnvRequireBrowser, what+": "+test+" needs node, chromium (Debian) and playwright-core (npm, on NODE_PATH); .ci/run installs them")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("no node on PATH")
	}
	chromium = os.Getenv(EnvChromium)
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		missing("no browser at " + chromium + " (set " + EnvChromium + ")")
	}
	if err := exec.Command(node, "-e", `require.resolve("playwright-core")`).Run(); err != nil {
		missing("node cannot find playwright-core")
	}
	return node, chromium
}
