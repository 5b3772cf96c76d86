package distill_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/qilin-ai/qilin/distill"
	"github.com/qilin-ai/qilin/engine"
	"github.com/qilin-ai/qilin/internal/enginetest"
	"github.com/qilin-ai/qilin/remote"
	"github.com/qilin-ai/qilin/server"
)

func loadLocal(t *testing.T, path string, slots int) (*engine.Engine, *distill.Local) {
	t.Helper()
	e, err := engine.Load(path, engine.Options{Context: 256, Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	l, err := distill.NewLocal(e, slots)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		l.Close()
		e.Close()
	})
	return e, l
}

func localConfig(teacher distill.Teacher, prompts []distill.Prompt, conc int) distill.Config {
	return distill.Config{Teacher: teacher, Info: distill.TeacherInfo{Model: "tiny-reasoner.gguf", Endpoint: "local"}, Prompts: prompts,
		Samples: 2, Params: distill.Params{Temperature: ptr(0.8), TopP: ptr(0.95), MaxTokens: 24, TopLogprobs: 3, Seed: 5},
		Concurrency: conc}
}

// TestLocalTeacher: a local collection is the same with one slot as with
// four (continuous batching does not change an answer), and the same as
// collecting from qilin serve on the same file over HTTP.
func TestLocalTeacher(t *testing.T) {
	path := enginetest.TinyReasoner(t)
	prompts := testPrompts(6)
	var runs [][]byte
	for _, conc := range []int{1, 4} {
		_, l := loadLocal(t, path, conc)
		dir := t.TempDir()
		res := collect(t, dir, localConfig(l, prompts, conc))
		if res.New != 12 || res.CompletionTokens == 0 {
			t.Fatalf("concurrency %d: %d records, %d tokens", conc, res.New, res.CompletionTokens)
		}
		runs = append(runs, readFile(t, dir, distill.SamplesFile))
	}
	if err := sameSamples(runs[0], runs[1]); err != nil {
		t.Errorf("samples.jsonl with 4 slots differs from that with 1: %v", err)
	}
	rec, err := distill.ParseRecord(runs[0][:bytes.IndexByte(runs[0], '\n')])
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Logprobs) != rec.Usage.CompletionTokens || len(rec.Logprobs[0].TopLogprobs) != 3 || rec.Usage.PromptTokens == 0 {
		t.Errorf("record: %d logprobs for %d tokens, usage %+v", len(rec.Logprobs), rec.Usage.CompletionTokens, rec.Usage)
	}
	if _, reasoning := rec.Answer(); reasoning == "" {
		t.Error("no reasoning: the template opened the block, so the output starts inside it")
	}

	// The same collection through qilin serve.
	e, err := engine.Load(path, engine.Options{Context: 256, Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	srv := server.New(server.Options{ModelName: "tiny", Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Sched: engine.SchedOptions{Slots: 4}})
	if err := srv.Load(e, path); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	defer srv.Shutdown(context.Background())
	ep, _ := remote.ParseEndpoint(ts.URL + "/v1#tiny")
	dir := t.TempDir()
	collect(t, dir, localConfig(remote.NewClient(ep, ""), prompts, 4))
	if got := readFile(t, dir, distill.SamplesFile); sameSamples(runs[0], got) != nil {
		a, b := strings.Split(string(runs[0]), "\n"), strings.Split(string(got), "\n")
		t.Errorf("through qilin serve, samples.jsonl differs (%v); first lines:\nlocal %.600s\nserve %.600s", sameSamples(runs[0], got), a[0], b[0])
	}
}

func TestLocalThinkOff(t *testing.T) {
	_, l := loadLocal(t, enginetest.TinyReasoner(t), 2)
	off := false
	resp, err := l.Chat(context.Background(), remote.ChatRequest{Messages: []remote.Message{{Role: "user", Content: "hi"}}, Think: &off,
		MaxTokens: 12, Temperature: ptr(0.0)})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Reasoning != "" || resp.Content == "" {
		t.Errorf("think off: reasoning %q, content %q; want the block closed at once and an answer", resp.Reasoning, resp.Content)
	}
	long := strings.Repeat("word ", 400)
	_, err = l.Chat(context.Background(), remote.ChatRequest{Messages: []remote.Message{{Role: "user", Content: long}}, MaxTokens: 4})
	if remote.ErrorKind(err) != remote.KindBadRequest {
		t.Errorf("a prompt longer than the context: %v, want a bad request", err)
	}
}

// TestLocalThinkBudget: a reasoning budget closes the block after that
// many tokens, which the usage counts.
func TestLocalThinkBudget(t *testing.T) {
	_, l := loadLocal(t, enginetest.TinyReasoner(t), 1)
	msgs := []remote.Message{{Role: "user", Content: "hi"}}
	free, err := l.Chat(context.Background(), remote.ChatRequest{Messages: msgs, MaxTokens: 40, Temperature: ptr(0.8), Seed: ptr(int64(9))})
	if err != nil {
		t.Fatal(err)
	}
	if free.Usage.ReasoningTokens < 20 {
		t.Fatalf("without a budget the model reasons %d tokens; the test needs a longer reasoning", free.Usage.ReasoningTokens)
	}
	for _, budget := range []int{0, 3, 7} {
		resp, err := l.Chat(context.Background(), remote.ChatRequest{Messages: msgs, ThinkBudget: &budget, MaxTokens: 40, Temperature: ptr(0.8), Seed: ptr(int64(9))})
		if err != nil {
			t.Fatal(err)
		}
		// The forced close ("\n</think>\n\n") is counted in the block.
		if resp.Usage.ReasoningTokens < budget || resp.Usage.ReasoningTokens > budget+4 || !resp.ReasoningClosed && resp.FinishReason != "length" {
			t.Errorf("budget %d: %d reasoning tokens (closed %v, %s); want the budget and the close", budget, resp.Usage.ReasoningTokens, resp.ReasoningClosed, resp.FinishReason)
		}
		t.Logf("budget %d: %d reasoning tokens, answer %q", budget, resp.Usage.ReasoningTokens, resp.Content)
	}
}

// sameSamples reports where two samples.jsonl files differ: every line,
// field and token must be equal, and log-probabilities equal to 1e-4. A
// batch of several sequences may sum a matrix product in another order
// than one sequence alone (llama.cpp's tinyBLAS for batches, its vec_dot
// for one row), so logits differ in their last bits between one slot and
// four; the answers do not.
func sameSamples(a, b []byte) error {
	la, lb := bytes.Split(bytes.TrimSpace(a), []byte("\n")), bytes.Split(bytes.TrimSpace(b), []byte("\n"))
	if len(la) != len(lb) {
		return fmt.Errorf("%d lines against %d", len(la), len(lb))
	}
	for i := range la {
		var va, vb any
		if err := json.Unmarshal(la[i], &va); err != nil {
			return fmt.Errorf("line %d: %v", i+1, err)
		}
		if err := json.Unmarshal(lb[i], &vb); err != nil {
			return fmt.Errorf("line %d: %v", i+1, err)
		}
		if path := jsonDiff(va, vb, ""); path != "" {
			return fmt.Errorf("line %d differs at %s", i+1, path)
		}
	}
	return nil
}

// jsonDiff returns the path of the first difference between two decoded
// JSON values ("" when none); numbers under a "logprob" key compare to
// 1e-4.
func jsonDiff(a, b any, path string) string {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return path
		}
		for k, v := range x {
			if d := jsonDiff(v, y[k], path+"."+k); d != "" {
				return d
			}
		}
		return ""
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return path
		}
		for i := range x {
			if d := jsonDiff(x[i], y[i], fmt.Sprintf("%s[%d]", path, i)); d != "" {
				return d
			}
		}
		return ""
	case float64:
		y, ok := b.(float64)
		if ok && (x == y || strings.HasSuffix(path, ".logprob") && math.Abs(x-y) <= 1e-4) {
			return ""
		}
		return path
	default:
		if a != b {
			return path
		}
		return ""
	}
}
