package testdata

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMain(m *testing.M) { Main(m) }

func TestSkipLine(t *testing.T) {
	for _, c := range []struct {
		n    int64
		want string
	}{
		{1, "example.com/m/pkg: 1 test skipped: no /nowhere\n"},
		{12, "example.com/m/pkg: 12 tests skipped: no /nowhere\n"},
	} {
		if diff := cmp.Diff(c.want, skipLine("example.com/m/pkg", c.n, "no /nowhere")); diff != "" {
			t.Errorf("skipLine(%d) (-want +got):\n%s", c.n, diff)
		}
	}
}

// helperEnv marks the child run of TestMainReportsSkips.
const helperEnv = "QILIN_TESTDATA_SKIP_HELPER"

// TestSkipHelper skips twice through Dir when run as the child of
// TestMainReportsSkips, and does nothing otherwise.
func TestSkipHelper(t *testing.T) {
	if os.Getenv(helperEnv) != "1" {
		return
	}
	for _, name := range []string{"a", "b"} {
		t.Run(name, func(t *testing.T) { Dir(t) })
	}
	for _, name := range []string{"c", "d", "e"} {
		t.Run(name, func(t *testing.T) { SkipMissing(t, "QILIN_REQUIRE_GADGET", "no gadget on PATH") })
	}
	t.Run("f", func(t *testing.T) { SkipMissing(t, "QILIN_REQUIRE_WIDGET", "no widget") })
}

// TestMainReportsSkips runs this test binary again with the data pointing
// nowhere and checks that Main says how many tests skipped and why.
func TestMainReportsSkips(t *testing.T) {
	if os.Getenv(helperEnv) == "1" {
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestSkipHelper$", "-test.v")
	cmd.Env = append(os.Environ(), helperEnv+"=1", "QILIN_TESTDATA=/nonexistent/qilin-testdata", "QILIN_REQUIRE_TESTDATA=",
		"QILIN_REQUIRE_GADGET=", "QILIN_REQUIRE_WIDGET=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child run failed: %v\n%s", err, out)
	}
	for _, want := range []string{
		"github.com/qilin-ai/qilin/internal/testdata: 2 tests skipped: shared testdata not found at /nonexistent/qilin-testdata",
		"github.com/qilin-ai/qilin/internal/testdata: 3 tests skipped: no gadget on PATH (QILIN_REQUIRE_GADGET=1 makes this a failure)\n" +
			"github.com/qilin-ai/qilin/internal/testdata: 1 test skipped: no widget (QILIN_REQUIRE_WIDGET=1 makes this a failure)\n",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("child output lacks %q:\n%s", want, out)
		}
	}
}

// TestSkipMissingRequired: with its variable set, a missing tool fails the
// test instead of skipping it.
func TestSkipMissingRequired(t *testing.T) {
	if os.Getenv(helperEnv) == "1" {
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestSkipHelper$", "-test.v")
	cmd.Env = append(os.Environ(), helperEnv+"=1", "QILIN_REQUIRE_GADGET=1")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "no gadget on PATH, and QILIN_REQUIRE_GADGET=1") {
		t.Errorf("child run: %v, want a failure naming the gadget:\n%s", err, out)
	}
}

// TestEveryPackageReports: each package whose tests use this one runs them
// through Main, or its skips would pass silently.
func TestEveryPackageReports(t *testing.T) {
	root, ok := moduleRoot()
	if !ok {
		t.Fatal("no module root")
	}
	users, reporting := map[string]bool{}, map[string]bool{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != root && (strings.HasPrefix(d.Name(), ".") || strings.HasPrefix(d.Name(), "_") || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		dir, _ := filepath.Rel(root, filepath.Dir(path))
		if strings.Contains(string(b), `"github.com/qilin-ai/qilin/internal/testdata"`) {
			users[dir] = true
		}
		if strings.Contains(string(b), "testdata.Main(m)") {
			reporting[dir] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(users) == 0 {
		t.Fatal("found no package using internal/testdata")
	}
	for dir := range users {
		if !reporting[dir] {
			t.Errorf("%s: its tests use internal/testdata but no TestMain calls testdata.Main (add func TestMain(m *testing.M) { testdata.Main(m) })", dir)
		}
	}
}
