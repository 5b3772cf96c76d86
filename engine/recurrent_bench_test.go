package engine

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/qilin-ai/qilin/quantize"
	"github.com/qilin-ai/qilin/synth"
)

// BenchmarkChatTurnRecurrent measures what the recurrent states' snapshots
// save in a chat on a Qwen3.5 model: turn 1 is a prompt of 300 tokens and
// 16 generated (not timed); turn 2 is that prompt with 32 more tokens (the
// next user message; a thinking model's template drops the previous
// answer's reasoning, so the shared prefix ends with the first prompt),
// timed to its first token. "reuse" resumes from the snapshot at the end of
// turn 1's prompt, "recompute" evaluates turn 2 from scratch
// (NoPrefixCache). It reports ms per turn 2 and the tokens reused.
//
//	go test ./engine -run '^$' -bench ChatTurnRecurrent -benchtime 3x
//
// The model is $QILIN_BENCH_MODEL, or else a random-weight model of the
// qwen3.5-0.8b shape in Q4_K_M, written once by package synth into the temp
// directory.
func BenchmarkChatTurnRecurrent(b *testing.B) {
	path := os.Getenv("QILIN_BENCH_MODEL")
	if path == "" {
		path = qwen35BenchModel(b)
	}
	e, err := Load(path, Options{Context: 2048})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	first := make([]int, 300)
	for i := range first {
		first[i] = (i*7919 + 11) % 20000
	}
	second := append(append([]int{}, first...), first[100:132]...)
	for _, tc := range []struct {
		name    string
		noReuse bool
	}{{"reuse", false}, {"recompute", true}} {
		b.Run(tc.name, func(b *testing.B) {
			s := e.NewScheduler(SchedOptions{Slots: 1, NoPrefixCache: tc.noReuse})
			defer s.Close(context.Background())
			turn := func(prompt []int, n int) Result {
				st, err := s.Submit(context.Background(), Request{Prompt: prompt, MaxTokens: n})
				if err != nil {
					b.Fatal(err)
				}
				_, _, _, res := collect(st)
				return res
			}
			var total time.Duration
			var cached int
			for range b.N {
				b.StopTimer()
				turn(first, 16)
				b.StartTimer()
				start := time.Now()
				res := turn(second, 1)
				total += time.Since(start)
				cached = res.CachedTokens
			}
			b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/turn")
			b.ReportMetric(float64(cached), "cached")
		})
	}
}

// qwen35BenchModel returns the path of the qwen3.5-0.8b-shaped synthetic
// model in Q4_K_M, writing it once into the temp directory.
func qwen35BenchModel(b *testing.B) string {
	path := filepath.Join(os.TempDir(), "qilin-bench-qwen3.5-0.8b-q4_k_m.gguf")
	if _, err := os.Stat(path); err == nil {
		return path
	}
	shape, err := synth.Lookup("qwen3.5-0.8b")
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("writing %s (once)", path)
	if err := synth.Write(path, shape, synth.Options{Type: quantize.Q4_K_M, Seed: 1}); err != nil {
		b.Fatal(err)
	}
	return path
}
