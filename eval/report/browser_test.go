package report

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/qilin-ai/qilin/internal/testdata"
)

// browserPage is one run of testdata/report.cjs (see there).
type browserPage struct {
	File     string         `json:"file"`
	Title    string         `json:"title"`
	Tables   map[string]int `json:"tables"`
	Charts   int            `json:"charts"`
	Drill    bool           `json:"drill"`
	Shots    string         `json:"shots"`
	Name     string         `json:"name"`
	Chromium string         `json:"chromium"`
}

// TestReportInBrowser opens a report and a comparison in Debian's chromium
// (testdata/report.cjs through playwright-core): the tables have their
// rows, every chart draws with its texts inside it and apart, hostile
// answers show as text, the page fits a desktop and a phone, and nothing
// errs, alerts or loads from elsewhere. The screenshots stay in
// QILIN_SCREENSHOTS when it is set.
func TestReportInBrowser(t *testing.T) {
	node, chromium := testdata.Browser(t, "the eval report's browser test")
	res, samples := fixtureRun(20, 4)
	t.Run("report", func(t *testing.T) {
		dir := writeRun(t, res, samples)
		if err := Write(dir); err != nil {
			t.Fatal(err)
		}
		runPage(t, node, browserPage{
			File: filepath.Join(dir, ReportFile), Title: "Evaluation report", Chromium: chromium, Name: "eval-report", Drill: true,
			Tables: map[string]int{"overview": 3, "gsm8k results": 3, "gsm8k accuracy by thinking budget": 3, "mmlu results": 3, "perplexity results": 2},
			// gsm8k: accuracy, budget, tokens and seconds per correct;
			// mmlu: the same but budget; perplexity.
			Charts: 8,
		})
	})
	t.Run("compare", func(t *testing.T) {
		c, err := Compare(only(t, res, samples, nil, fixtureModels[1]), only(t, res, samples, nil, fixtureModels[0], hostileModel))
		if err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(t.TempDir(), "cmp")
		if err := WriteCompare(out, c); err != nil {
			t.Fatal(err)
		}
		runPage(t, node, browserPage{
			File: filepath.Join(out, ReportFile), Title: "Evaluation comparison", Chromium: chromium, Name: "eval-compare",
			// The teacher against each of two students; on mmlu by three metrics.
			Tables: map[string]int{"gsm8k comparison": 2, "mmlu comparison": 6},
			Charts: 2,
		})
	})
}

func runPage(t *testing.T, node string, page browserPage) {
	t.Helper()
	page.Shots = os.Getenv(testdata.EnvScreenshots)
	if page.Shots == "" {
		page.Shots = t.TempDir()
	} else if err := os.MkdirAll(page.Shots, 0o755); err != nil {
		t.Fatal(err)
	}
	shots := []string{"desktop", "phone"}
	if page.Drill {
		shots = append(shots, "samples")
	}
	for _, shot := range shots { // none left from an earlier run
		if err := os.Remove(filepath.Join(page.Shots, page.Name+"-"+shot+".png")); err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
	}
	cfg, _ := json.Marshal(page)
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
	if !strings.Contains(string(out), "ok: no script error") {
		t.Fatal("the page script did not reach its last check")
	}
	for _, shot := range shots {
		if _, err := os.Stat(filepath.Join(page.Shots, page.Name+"-"+shot+".png")); err != nil {
			t.Errorf("no %s screenshot: %v", shot, err)
		}
	}
	t.Logf("screenshots in %s", page.Shots)
}
