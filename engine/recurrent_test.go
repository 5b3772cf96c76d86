package engine

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/qilin-ai/qilin/gguf"
	"github.com/qilin-ai/qilin/internal/testdata"
	"github.com/qilin-ai/qilin/model"
)

// loadQwen35 loads the shared syn-qwen35 F32 model (Gated DeltaNet and
// gated attention), rewritten with the qwen2 pre-tokenizer: these tests
// are about the cache, and their ASCII prompts split alike under both.
func loadQwen35(t *testing.T, ctx int) *Engine {
	t.Helper()
	src, err := gguf.Open(testdata.Path(t, "next", "models", "syn-qwen35-f32.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	w := gguf.NewWriter()
	for _, kv := range src.KV {
		if kv.Key == "tokenizer.ggml.pre" {
			kv.Value = "qwen2"
		}
		w.SetKV(kv.Key, kv.Value)
	}
	for _, tn := range src.Tensors {
		if err := w.AddTensor(tn.Name, tn.Type, tn.Dims, tn.Data); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Parse(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(f, Options{Context: ctx, Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// TestSchedPrefixCacheRecurrent: a recurrent model's slot cannot be cut at
// any position, so the scheduler resumes from the snapshot at the end of
// the previous prompt (all but its last token), from a block boundary, or
// from the live state, and the output is what the prompt gives alone.
func TestSchedPrefixCacheRecurrent(t *testing.T) {
	e := loadQwen35(t, 1024)
	s := newSched(t, e, SchedOptions{Slots: 1})
	run := func(prompt []int, maxTokens int) ([]int, Result) {
		st, err := s.Submit(context.Background(), Request{Prompt: prompt, MaxTokens: maxTokens})
		if err != nil {
			t.Fatal(err)
		}
		toks, _, _, res := collect(st)
		return toks, res
	}
	base := encode(t, e, "The quick brown fox jumps over the lazy dog. It")
	if _, res := run(base, 8); res.CachedTokens != 0 {
		t.Errorf("first request: %d cached tokens, want 0", res.CachedTokens)
	}
	// The next turn: the previous prompt's snapshot (all but its last
	// token) is reused, not the generated tokens after it.
	longer := append(append([]int{}, base...), encode(t, e, " then ran")...)
	toks, res := run(longer, 8)
	if res.CachedTokens != len(base)-1 {
		t.Errorf("longer prompt: %d cached tokens, want %d (the snapshot)", res.CachedTokens, len(base)-1)
	}
	if diff := cmp.Diff(alone(t, e, longer, 8), toks); diff != "" {
		t.Errorf("output after resuming from a snapshot differs (-want +got):\n%s", diff)
	}
	// The same prompt again: everything but the last token.
	toks, res = run(longer, 8)
	if res.CachedTokens != len(longer)-1 {
		t.Errorf("repeated prompt: %d cached tokens, want %d", res.CachedTokens, len(longer)-1)
	}
	if diff := cmp.Diff(alone(t, e, longer, 8), toks); diff != "" {
		t.Errorf("output of the repeated prompt differs (-want +got):\n%s", diff)
	}

	// A long prompt, then one sharing its first 280 tokens: resumed at the
	// block boundary before them.
	long := encode(t, e, strings.Repeat("The quick brown fox jumps over the lazy dog. ", 30))
	if len(long) < 300 {
		t.Fatalf("long prompt of %d tokens, want 300 or more", len(long))
	}
	run(long, 2)
	fork := append(append([]int{}, long[:280]...), encode(t, e, " Then it slept.")...)
	if _, res = run(fork, 2); res.CachedTokens != model.SnapshotEvery {
		t.Errorf("prompt sharing 280 tokens: %d cached tokens, want %d (a block boundary)", res.CachedTokens, model.SnapshotEvery)
	}
}

// TestSchedPrefixCopyRecurrent: a request sharing a running request's
// prompt copies that slot's snapshot of it.
func TestSchedPrefixCopyRecurrent(t *testing.T) {
	e := loadQwen35(t, 512)
	s := newSched(t, e, SchedOptions{Slots: 2})
	base := encode(t, e, "Once upon a time, there was a little dog named Max.")
	st1, err := s.Submit(context.Background(), Request{Prompt: base, MaxTokens: 200})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := st1.Recv(); !ok {
		t.Fatal("first stream ended early")
	}
	second := append(append([]int{}, base...), encode(t, e, " He")...)
	st2, err := s.Submit(context.Background(), Request{Prompt: second, MaxTokens: 6})
	if err != nil {
		t.Fatal(err)
	}
	toks, _, _, res := collect(st2)
	st1.Cancel()
	collect(st1)
	if res.CachedTokens != len(base)-1 {
		t.Errorf("%d cached tokens, want %d copied from the busy slot's snapshot", res.CachedTokens, len(base)-1)
	}
	if diff := cmp.Diff(alone(t, e, second, 6), toks); diff != "" {
		t.Errorf("output with copied state differs (-want +got):\n%s", diff)
	}
}

// TestSchedGreedyMatchesAloneRecurrent: six prompts on four slots, joining
// at different steps with prefill chunks of 5 tokens, each slot's recurrent
// states stepping in mixed batches, give what each prompt gives alone.
func TestSchedGreedyMatchesAloneRecurrent(t *testing.T) {
	checkGreedyMatchesAlone(t, loadQwen35(t, 256), 16)
}
