package model

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/qilin-ai/qilin/gguf"
	"github.com/qilin-ai/qilin/kernels"
)

// BenchmarkDecodeDepth times one decode step of one sequence whose cache
// holds 512 or 8192 positions, on the model $QILIN_BENCH_MODEL with 2
// threads, and reports tokens/s. The cache is not filled by a prefill of
// that length: its attention rows are left zero and its recurrent states
// stand for that many positions, since the cost of a step does not depend
// on the values (attention reads every cached row; a recurrent layer its
// fixed state). For a Qwen3.5 file only the attention layers grow with the
// depth; for an attention-only file every layer does.
//
//	qilin synth qwen3.5-0.8b /tmp/q35.gguf
//	QILIN_BENCH_MODEL=/tmp/q35.gguf go test ./model -run '^$' -bench DecodeDepth -benchtime 32x
func BenchmarkDecodeDepth(b *testing.B) {
	path := os.Getenv("QILIN_BENCH_MODEL")
	if path == "" {
		b.Skip("set QILIN_BENCH_MODEL to a GGUF file")
	}
	f, err := gguf.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	m, err := Load(f)
	if err != nil {
		b.Fatal(err)
	}
	pool := kernels.NewPool(2)
	defer pool.Close()
	const window = 64 // steps before the position wraps back to the depth
	for _, depth := range []int{512, 8192} {
		b.Run(fmt.Sprintf("depth=%d", depth), func(b *testing.B) {
			r, c := m.NewRunner(pool, 1, depth+window), m.NewCache(depth+window)
			out := make([]float32, m.NVocab)
			step := &Batch{Tokens: []int{1}, Pos: []int{0}, Caches: []*Cache{c}, Logits: []bool{true}}
			b.ResetTimer()
			start := time.Now()
			for i := range b.N {
				if i%window == 0 {
					c.next = depth
				}
				step.Tokens[0], step.Pos[0] = (i*7919+3)%m.NVocab, depth+i%window
				if err := r.Forward(step, out); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "tok/s")
		})
	}
}
