package grammar

import (
	"math/rand/v2"
	"os"
	"slices"
	"testing"
	"time"
)

// BenchmarkMaskQwen times Matcher.Mask per token over the real Qwen
// vocabulary (151,669 tokens) on random walks through testdata/nested.json
// (objects in arrays in objects, strings, numbers, enums, formats)
// (random logits at temperature 1, 96 tokens a walk), and reports the
// median and the 99th percentile. cold compiles the grammar afresh for
// every walk, so its per-node tables and state cache are built on the way
// (a schema's first request); warm reuses one grammar (a server's cache).
//
//	go test ./grammar -run '^$' -bench MaskQwen -benchtime 20x
func BenchmarkMaskQwen(b *testing.B) {
	v := loadQwen(b)
	nested, err := os.ReadFile("testdata/nested.json")
	if err != nil {
		b.Fatal(err)
	}
	for _, warm := range []bool{false, true} {
		name := "cold"
		if warm {
			name = "warm"
		}
		b.Run(name, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			mask := make([]uint64, v.MaskWords())
			logits := make([]float32, v.Size())
			var times []time.Duration
			var g *Grammar
			for b.Loop() {
				if g == nil || !warm {
					var err error
					if g, err = FromJSONSchema(nested); err != nil {
						b.Fatal(err)
					}
				}
				m, err := NewMatcher(g, v)
				if err != nil {
					b.Fatal(err)
				}
				for step := 0; step < 96 && !m.Done(); step++ {
					t0 := time.Now()
					m.Mask(mask)
					times = append(times, time.Since(t0))
					for i := range logits {
						logits[i] = float32(rng.NormFloat64() * 3)
					}
					id := sampleToken(rng, logits, mask, 1)
					if v.kinds[id] == TokenEOG {
						break
					}
					if err := m.Accept(id); err != nil {
						b.Fatal(err)
					}
				}
			}
			slices.Sort(times)
			b.ReportMetric(float64(times[len(times)/2].Microseconds()), "median-µs/token")
			b.ReportMetric(float64(times[len(times)*99/100].Microseconds()), "p99-µs/token")
			b.ReportMetric(float64(len(times))/float64(b.N), "tokens/walk")
		})
	}
}
