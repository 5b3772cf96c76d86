package engine

import (
	"context"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/qilin-ai/qilin/sample"
	"github.com/qilin-ai/qilin/watermark"
)

// BenchmarkWatermarkDecode measures decode throughput through the
// scheduler with and without a watermark, side by side: each iteration
// runs one 64-token request per variant (unmarked, gumbel, redgreen; the
// unmarked one first or last in turn), and the reported ratios ("gumbel/plain", "redgreen/plain") are the
// medians over iterations of tok/s marked over tok/s unmarked. Decode only:
// the clock starts at the first generated token.
//
//	go test ./engine -run '^$' -bench WatermarkDecode -benchtime 8x
//
// The model is $QILIN_BENCH_MODEL, or else the random-weight Qwen2.5-0.5B
// Q4_K_M of BenchmarkBatchDecode (a 151936-token vocabulary, where marking
// costs most). "full-vocab" samples at temperature 1 with no filter (every
// token is a candidate); "top-k-40" uses qilin's sampling defaults.
func BenchmarkWatermarkDecode(b *testing.B) {
	path := os.Getenv("QILIN_BENCH_MODEL")
	if path == "" {
		path = batchBenchModel(b, "Q4_K_M")
	}
	e, err := Load(path, Options{Context: 512})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	s := e.NewScheduler(SchedOptions{Slots: 1})
	defer s.Close(context.Background())
	prompt := make([]int, 16)
	for i := range prompt {
		prompt[i] = 100 + i*37
	}
	secret := []byte("benchmark secret, not a real key")
	keys := []watermark.Key{
		{ID: "bench", Scheme: watermark.Gumbel, Secret: secret, Context: 4},
		{ID: "bench", Scheme: watermark.RedGreen, Secret: secret, Context: 4, Gamma: 0.25, Delta: 2},
	}
	for _, tc := range []struct {
		name string
		p    sample.Params
	}{
		{"full-vocab", sample.Params{Temperature: 1}},
		{"top-k-40", sample.Params{Temperature: 0.8, TopK: 40, TopP: 0.95, MinP: 0.05}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			ratios := map[string][]float64{}
			var plainRates []float64
			for i := 0; i < b.N; i++ {
				p := tc.p
				p.Seed = uint64(i + 1)
				// Odd iterations run the unmarked request last, so that
				// neither variant always follows the other.
				run := func() float64 { return decodeRate(b, s, Request{Prompt: prompt, MaxTokens: 64, Sample: p}) }
				var plain float64
				if i%2 == 0 {
					plain = run()
				}
				rates := map[string]float64{}
				for _, k := range keys {
					rates[string(k.Scheme)] = decodeRate(b, s, Request{Prompt: prompt, MaxTokens: 64, Sample: p, Processors: []Processor{Watermark(k)}})
				}
				if i%2 == 1 {
					plain = run()
				}
				plainRates = append(plainRates, plain)
				for name, r := range rates {
					ratios[name] = append(ratios[name], r/plain)
				}
			}
			b.ReportMetric(median(plainRates), "tok/s")
			for _, k := range keys {
				b.ReportMetric(median(ratios[string(k.Scheme)]), string(k.Scheme)+"/plain")
			}
		})
	}
}

// decodeRate runs req and returns its decode tokens/s after the first token.
func decodeRate(b *testing.B, s *Scheduler, req Request) float64 {
	st, err := s.Submit(context.Background(), req)
	if err != nil {
		b.Fatal(err)
	}
	var first time.Time
	n := 0
	for {
		ev, ok := st.Recv()
		if !ok {
			break
		}
		if ev.Token >= 0 {
			if n == 0 {
				first = time.Now()
			}
			n++
		}
	}
	if err := st.Result().Err; err != nil {
		b.Fatal(err)
	}
	return float64(n-1) / time.Since(first).Seconds()
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}
