package report

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/qilin-ai/qilin/internal/testdata"
)

// TestReportInBrowser opens a report in Debian's chromium (testdata/report.cjs
// through playwright-core): the tables have their rows, every chart draws
// with its texts inside it and apart, hostile answers show as text, the page
// fits a desktop and a phone, and nothing errs, alerts or loads from
// elsewhere. The screenshots stay in QILIN_SCREENSHOTS when it is set.
func TestReportInBrowser(t *testing.T) {
	node, chromium := testdata.Browser(t, "the eval report's browser test")
	res, samples := fixtureRun(20, 4)
	dir := writeRun(t, res, samples)
	if err := Write(dir); err != nil {
		t.Fatal(err)
	}
	shots := os.Getenv(testdata.EnvScreenshots)
	if shots == "" {
		shots = t.TempDir()
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg, _ := json.Marshal(map[string]any{
		"file":     filepath.Join(dir, ReportFile),
		"tables":   map[string]int{"gsm8k": 3, "mmlu": 3, "perplexity": 2},
		"charts":   8, // gsm8k: accuracy, budget, tokens and seconds per correct; mmlu: the same but budget; perplexity
		"shots":    shots,
		"name":     "eval-report",
		"chromium": chromium,
	})
	// Stat the script and read NODE_PATH here, so that go test's cache
	// knows the run depends on them.
	script := filepath.Join("testdata", "report.cjs")
	if _, err := os.Stat(script); err != nil {
		t.Fatal(err)
	}
	_ = os.Getenv("NODE_PATH")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, script)
	cmd.Env = append(os.Environ(), "QILIN_REPORT="+string(cfg))
	out, err := cmd.CombinedOutput()
	t.Logf("page script:\n%s", out)
	if err != nil {
		t.Fatalf("the page script failed (%v); its last line says why", err)
	}
	for _, shot := range []string{"desktop", "samples", "phone"} {
		if _, err := os.Stat(filepath.Join(shots, "eval-report-"+shot+".png")); err != nil {
			t.Errorf("no %s screenshot: %v", shot, err)
		}
	}
	t.Logf("screenshots in %s", shots)
}
