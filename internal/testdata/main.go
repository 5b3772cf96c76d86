package testdata

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Main runs the package's tests and exits with their status, first saying how
// many tests Dir and SkipMissing skipped, in one line per reason that names
// the package and the reason.
//
// go test hides the output of a passing package unless -v is given, so
// without -v the line goes to the terminal go test runs in (where there is
// one), beside go test's own "ok" line; with -v it is test output.
func Main(m *testing.M) {
	code := m.Run()
	var lines []string
	if n := skipped.Load(); n > 0 {
		lines = append(lines, skipLine(packageName(), n, "shared testdata not found at "+where()+" (set QILIN_TESTDATA; QILIN_REQUIRE_TESTDATA=1 makes this a failure)"))
	}
	missing.Lock()
	for _, l := range missing.reasons {
		lines = append(lines, skipLine(packageName(), missing.count[l], l.why+" ("+l.require+"=1 makes this a failure)"))
	}
	missing.Unlock()
	if len(lines) > 0 {
		touchMarker()
		w, closeW := reportWriter()
		io.WriteString(w, strings.Join(lines, ""))
		closeW()
	}
	os.Exit(code)
}

// skipLine is the line Main prints for n tests of pkg skipped for why.
func skipLine(pkg string, n int64, why string) string {
	tests := "tests"
	if n == 1 {
		tests = "test"
	}
	return fmt.Sprintf("%s: %d %s skipped: %s\n", pkg, n, tests, why)
}

// where names the directory Find looked for.
func where() string {
	if d := os.Getenv("QILIN_TESTDATA"); d != "" {
		return d
	}
	if root, ok := moduleRoot(); ok {
		return filepath.Join(filepath.Dir(root), "shared", "testdata")
	}
	return "../shared/testdata"
}

// packageName is the tested package's import path, as go test's "ok" line
// names it: the module path of go.mod joined with the working directory
// relative to the module root (go test runs a test binary in its package's
// directory).
func packageName() string {
	wd, err := os.Getwd()
	if err != nil {
		return "?"
	}
	root, ok := moduleRoot()
	if !ok {
		return filepath.Base(wd)
	}
	mod := filepath.Base(root)
	if b, err := os.ReadFile(filepath.Join(root, "go.mod")); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if p, ok := strings.CutPrefix(strings.TrimSpace(line), "module "); ok {
				mod = strings.Trim(strings.TrimSpace(p), `"`)
				break
			}
		}
	}
	rel, err := filepath.Rel(root, wd)
	if err != nil || rel == "." {
		return mod
	}
	return mod + "/" + filepath.ToSlash(rel)
}

// reportWriter returns where the skip line goes: standard output under -v,
// else the controlling terminal, else standard error (shown by go test only
// when the package fails).
func reportWriter() (io.Writer, func()) {
	if testing.Verbose() {
		return os.Stdout, func() {}
	}
	if tty, err := os.OpenFile(terminalPath, os.O_WRONLY, 0); err == nil {
		return tty, func() { tty.Close() }
	}
	return os.Stderr, func() {}
}

// touchMarker creates or refreshes a file that the first skip opens, which
// keeps go test from caching a run that skipped: go test rechecks the files
// a test opened inside the module, and does not cache a run that opened one
// modified within the last two seconds; Main modifies it again as the
// binary exits. Without this a second go test ./... would print "(cached)"
// without the skip line. The file (.testdata-skipped at the module root) is
// ignored by git.
func touchMarker() {
	root, ok := moduleRoot()
	if !ok {
		return
	}
	p := filepath.Join(root, ".testdata-skipped")
	now := time.Now()
	if err := os.Chtimes(p, now, now); err != nil {
		os.WriteFile(p, []byte("written by internal/testdata when tests skip for want of the shared data\n"), 0o644)
	}
	if f, err := os.Open(p); err == nil { // recorded in go test's log of opened files
		f.Close()
	}
}
