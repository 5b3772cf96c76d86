// Package testdata locates the shared reference data (../shared/testdata) for
// tests. Tests call Dir, which skips the test when the data is absent unless
// QILIN_REQUIRE_TESTDATA=1, in which case the test fails.
//
// A package whose tests use it runs them through Main from its TestMain, so
// that a run without the data says how many tests it skipped and why instead
// of looking like a full pass:
//
//	func TestMain(m *testing.M) { testdata.Main(m) }
//
// Tests that need something else the machine may lack (a browser) skip
// through SkipMissing, which Main reports the same way.
package testdata

import (
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
)

// skipped counts the tests Dir skipped in this test binary.
var skipped atomic.Int64

// missing counts the tests SkipMissing skipped, by reason, in the order the
// reasons first came.
var missing struct {
	sync.Mutex
	reasons []lack
	count   map[lack]int64
}

// lack is a reason to skip: what is missing and the variable that makes it
// a failure.
type lack struct{ why, require string }

// SkipMissing skips t because this machine lacks what the test needs
// (why says what, and how to get it), or fails t when the environment
// variable require is "1" (as CI sets it where it installs the tool).
func SkipMissing(t testing.TB, require, why string) {
	t.Helper()
	if os.Getenv(require) == "1" {
		t.Fatalf("%s, and %s=1", why, require)
	}
	l := lack{why, require}
	missing.Lock()
	if missing.count == nil {
		missing.count = map[lack]int64{}
	}
	if missing.count[l] == 0 {
		missing.reasons = append(missing.reasons, l)
	}
	missing.count[l]++
	missing.Unlock()
	touchMarker()
	t.Skip(why)
}

// Dir returns the shared testdata directory: $QILIN_TESTDATA, else
// ../shared/testdata relative to the module root. It skips t when the
// directory is missing, or fails t when QILIN_REQUIRE_TESTDATA=1.
func Dir(t testing.TB) string {
	t.Helper()
	dir, ok := Find()
	if !ok {
		if Required() {
			t.Fatalf("shared testdata not found (set QILIN_TESTDATA or place it at ../shared/testdata) and QILIN_REQUIRE_TESTDATA=1")
		}
		if skipped.Add(1) == 1 {
			touchMarker()
		}
		t.Skip("shared testdata not found; set QILIN_TESTDATA to run this test")
	}
	return dir
}

// Required reports whether QILIN_REQUIRE_TESTDATA=1 turns missing shared data
// into a failure (as CI runs).
func Required() bool { return os.Getenv("QILIN_REQUIRE_TESTDATA") == "1" }

// Path returns filepath.Join(Dir(t), elem...), skipping or failing t as Dir
// does, and failing t if the file itself is missing.
func Path(t testing.TB, elem ...string) string {
	t.Helper()
	p := filepath.Join(append([]string{Dir(t)}, elem...)...)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("testdata: %v", err)
	}
	return p
}

// Find returns the shared testdata directory and whether it exists.
func Find() (string, bool) {
	if d := os.Getenv("QILIN_TESTDATA"); d != "" {
		return d, isDir(d)
	}
	root, ok := moduleRoot()
	if !ok {
		return "", false
	}
	p := filepath.Join(root, "..", "shared", "testdata")
	return p, isDir(p)
}

// moduleRoot returns the nearest directory at or above the working
// directory that holds a go.mod.
func moduleRoot() (string, bool) {
	wd, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, true
		}
		if filepath.Dir(d) == d {
			return "", false
		}
	}
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}
