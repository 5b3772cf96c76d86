package distill_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
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
	if !bytes.Equal(runs[0], runs[1]) {
		t.Error("samples.jsonl with 4 slots differs from that with 1")
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
	if got := readFile(t, dir, distill.SamplesFile); !bytes.Equal(got, runs[0]) {
		a, b := strings.Split(string(runs[0]), "\n"), strings.Split(string(got), "\n")
		t.Errorf("through qilin serve, samples.jsonl differs; first lines:\nlocal %.600s\nserve %.600s", a[0], b[0])
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
