// Package testdata locates the shared reference data (../shared/testdata) for
// tests. Tests call Dir, which skips the test when the data is absent unless
// QILIN_REQUIRE_TESTDATA=1, in which case the test fails.
package testdata

import (
	"os"
	"path/filepath"
	"testing"
)

// Dir returns the shared testdata directory: $QILIN_TESTDATA, else
// ../shared/testdata relative to the module root. It skips t when the
// directory is missing, or fails t when QILIN_REQUIRE_TESTDATA=1.
func Dir(t testing.TB) string {
	t.Helper()
	dir, ok := Find()
	if !ok {
		if os.Getenv("QILIN_REQUIRE_TESTDATA") == "1" {
			t.Fatalf("shared testdata not found (set QILIN_TESTDATA or place it at ../shared/testdata) and QILIN_REQUIRE_TESTDATA=1")
		}
		t.Skip("shared testdata not found; set QILIN_TESTDATA to run this test")
	}
	return dir
}

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
	wd, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			p := filepath.Join(d, "..", "shared", "testdata")
			return p, isDir(p)
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
