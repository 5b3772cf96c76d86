package train

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/qilin-ai/qilin/kernels"
)

// benchShapes are the students the throughput figures are for: the
// demonstration's TinyStories student and the ~10M-parameter model of
// docs/perf.md (llama, vocabulary 4096 tied, width 384, 5 layers of 6
// heads, FFN 1024: 10.4M parameters).
var benchShapes = map[string]Config{
	"tiny150K": {Arch: "llama", NVocab: 2048, NEmbd: 48, NLayer: 2, NHead: 4, NHeadKV: 2, HeadDim: 12, NFF: 128,
		NCtx: 512, RopeBase: 10000, NormEps: 1e-5, Tied: true},
	"llama10M": {Arch: "llama", NVocab: 4096, NEmbd: 384, NLayer: 5, NHead: 6, NHeadKV: 6, HeadDim: 64, NFF: 1024,
		NCtx: 1024, RopeBase: 10000, NormEps: 1e-5, Tied: true},
}

// BenchmarkStep times one forward+backward+AdamW step of B=4 rows of
// T=256 positions, every position a target, on 2 threads; it reports
// tokens/s and GFLOP/s counted as 6 x parameters x tokens plus attention
// (6 x 2 x layers x T x width per token, causal halved: forward QK^T and
// PV, twice that backward).
func BenchmarkStep(b *testing.B) {
	for _, name := range []string{"tiny150K", "llama10M"} {
		c := benchShapes[name]
		b.Run(fmt.Sprintf("%s/threads=2", name), func(b *testing.B) {
			const rows, T = 4, 256
			pool := kernels.NewPool(2)
			defer pool.Close()
			m, err := NewStudent(c, pool, rows, T, 1)
			if err != nil {
				b.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(1, 1))
			bt := NewBatch(rows, T)
			for i := range bt.Tokens {
				bt.Tokens[i], bt.Pos[i], bt.Start[i], bt.Target[i] = int32(rng.IntN(c.NVocab)), int32(i%T), 0, int32(rng.IntN(c.NVocab))
			}
			opt := newAdamW(m.params, 0.1)
			w := lossWeights{ce: 1.0 / float32(rows*T), tau: 1}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				m.zeroGrad()
				m.step(bt, w)
				opt.update(pool, m.params, m.grads, 1e-3, i+1)
			}
			tokens := float64(rows * T * b.N)
			flops := 6*float64(c.Params())*tokens + 6*float64(c.NLayer*T*c.NEmbd)*tokens
			b.ReportMetric(tokens/b.Elapsed().Seconds(), "tokens/s")
			b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
