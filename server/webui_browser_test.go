package server

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/qilin-ai/qilin/engine"
	"github.com/qilin-ai/qilin/internal/builtinmodel"
	"github.com/qilin-ai/qilin/internal/testdata"
)

// The browser test runs testdata/webui.cjs with node, which drives
// Debian's chromium through playwright-core (npm, found through NODE_PATH
// or next to the script). It skips, saying what is missing, unless
// QILIN_REQUIRE_BROWSER=1 (as .ci/run sets) makes that a failure.
// QILIN_CHROMIUM names another browser binary; QILIN_SCREENSHOTS a folder
// that keeps the screenshots (else they go with the test's temporary
// folder).
const envScreenshots = testdata.EnvScreenshots

// browserPage is one run of the page script (see testdata/webui.cjs).
type browserPage struct {
	URL       string `json:"url"`
	Key       string `json:"key"`
	Mode      string `json:"mode"`
	Prompt    string `json:"prompt"`
	Short     int    `json:"short"`
	Reasoning string `json:"reasoning"`
	Answer    string `json:"answer"`
	Code      string `json:"code"`
	Long      string `json:"long"`
	Shots     string `json:"shots"`
	Name      string `json:"name"`
	Chromium  string `json:"chromium"`
}

// browserTools returns the node and chromium binaries, or skips (fails
// under QILIN_REQUIRE_BROWSER=1) saying what is missing.
func browserTools(t *testing.T) (node, chromium string) {
	t.Helper()
	return testdata.Browser(t, "the chat page's browser test")
}

// slowFor makes a request whose prompt decodes to hold marker write one
// token each 20 ms and never end on its own, so that the page can stop it:
// the model's own tokens, or filler's over and over when filler is set (a
// synthetic model writes only blanks). Other requests get script (nil: no
// processors).
func slowFor(t *testing.T, e *engine.Engine, marker, filler string, script func([]int) []engine.Processor) func([]int) []engine.Processor {
	fill, err := e.Tok.Encode(filler, false, false)
	if err != nil {
		t.Fatal(err)
	}
	return func(prompt []int) []engine.Processor {
		if !strings.Contains(e.Tok.Decode(prompt), marker) {
			if script == nil {
				return nil
			}
			return script(prompt)
		}
		return []engine.Processor{engine.ProcessorFunc(func(st *engine.Step) error {
			time.Sleep(20 * time.Millisecond)
			if len(fill) > 0 {
				st.Force(fill[len(st.Output)%len(fill)])
				return nil
			}
			for _, id := range st.EOG() {
				st.Logits[id] = float32(math.Inf(-1))
			}
			return nil
		})}
	}
}

// runPage serves e (as name, from path) on a loopback port and runs the page script against it.
func runPage(t *testing.T, e *engine.Engine, name, path string, control func([]int) []engine.Processor, page browserPage) {
	t.Helper()
	node, chromium := browserTools(t)
	opts := Options{APIKeys: nonEmpty(page.Key), ModelName: name, Sched: engine.SchedOptions{Slots: 2}}
	page.URL, page.Chromium = serveEngine(t, e, path, opts, control).URL, chromium
	page.Shots = os.Getenv(envScreenshots)
	if page.Shots == "" {
		page.Shots = t.TempDir()
	} else if err := os.MkdirAll(page.Shots, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg, _ := json.Marshal(page)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// Stat the script and read NODE_PATH here, so that go test's cache
	// knows the run depends on them (the node process reads them).
	script := filepath.Join("testdata", "webui.cjs")
	if _, err := os.Stat(script); err != nil {
		t.Fatal(err)
	}
	_ = os.Getenv("NODE_PATH")
	cmd := exec.CommandContext(ctx, node, script)
	cmd.Env = append(os.Environ(), "QILIN_WEBUI="+string(cfg))
	out, err := cmd.CombinedOutput()
	t.Logf("page script:\n%s", out)
	if err != nil {
		t.Fatalf("the page script failed (%v); its last line says why", err)
	}
	for _, shot := range []string{"desktop", "phone"} {
		if _, err := os.Stat(filepath.Join(page.Shots, page.Name+"-"+shot+".png")); err != nil {
			t.Errorf("no %s screenshot: %v", shot, err)
		}
	}
	t.Logf("screenshots in %s", page.Shots)
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

// TestChatPageInBrowser: in a real browser, the page streams an answer,
// stops a long one, keeps the conversation over a reload and fits a
// phone; the built-in story model gets plain completion behind an API
// key, the R1-template model a chat whose reasoning folds away and whose
// Markdown (a code block, markup that must stay text) renders safely.
func TestChatPageInBrowser(t *testing.T) {
	t.Run("story", func(t *testing.T) {
		e := builtinEngine(t, 512)
		long := "Once upon a time there was a very long story"
		runPage(t, e, builtinmodel.Name, builtinmodel.FileName, slowFor(t, e, long, "", nil), browserPage{
			Key: "secret-key", Mode: "completion", Prompt: "Once upon a time", Short: 24, Long: long, Name: "story",
		})
	})
	t.Run("reasoning", func(t *testing.T) {
		testdata.Path(t, "models", modelR1)
		e, path := testEngine(t, modelR1)
		reasoning := "The user says hello. I greet them and show a line of Go."
		code := `fmt.Println("<img src=x onerror=alert(1)>")`
		answer := "Hello! Here is **Go** <b>bold?</b>:\n\n```go\n" + code + "\n```\n"
		long := "Please think for a long time"
		runPage(t, e, "syn-qwen2", path, slowFor(t, e, long, "I keep thinking about it. ", scriptFor(t, modelR1, reasoning+"\n</think>\n\n"+answer, nil)), browserPage{
			Mode: "chat", Prompt: "Hello there", Short: 200, Reasoning: reasoning, Answer: "Hello! Here is Go <b>bold?</b>:",
			Code: code, Long: long, Name: "reasoning",
		})
	})
}
