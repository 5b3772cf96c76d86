package engine

import (
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/qilin-ai/qilin/grammar"
	"github.com/qilin-ai/qilin/sample"
)

// BenchmarkDecodeSchema measures decode speed (tokens after the first, per
// second of decoding) of one request through the scheduler, free and held
// to a nested JSON Schema (../grammar/testdata/nested.json), on the model
// QILIN_BENCH_MODEL with QILIN_BENCH_THREADS threads (default 2). The
// grammar is compiled once, as a server's cache keeps it; its tables fill
// during the first requests. Run the two alternately, say:
//
//	qilin synth qwen2.5-0.5b /work/ext/synth/qwen2.5-0.5b-q4_k_m.gguf
//	QILIN_BENCH_MODEL=/work/ext/synth/qwen2.5-0.5b-q4_k_m.gguf \
//	  go test ./engine -run '^$' -bench DecodeSchema -benchtime 4x -count 5
func BenchmarkDecodeSchema(b *testing.B) {
	path := os.Getenv("QILIN_BENCH_MODEL")
	if path == "" {
		b.Skip("set QILIN_BENCH_MODEL to a GGUF file")
	}
	threads := 2
	if v := os.Getenv("QILIN_BENCH_THREADS"); v != "" {
		threads, _ = strconv.Atoi(v)
	}
	e, err := Load(path, Options{Threads: threads, Context: 1024})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	schema, err := os.ReadFile("../grammar/testdata/nested.json")
	if err != nil {
		b.Fatal(err)
	}
	g, err := grammar.FromJSONSchema(schema)
	if err != nil {
		b.Fatal(err)
	}
	s := e.NewScheduler(SchedOptions{Slots: 1})
	defer s.Close(b.Context())
	prompt, err := e.Tok.Encode("Write the order as JSON:", true, false)
	if err != nil {
		b.Fatal(err)
	}
	for _, mode := range []string{"free", "schema"} {
		b.Run(mode, func(b *testing.B) {
			var toks int
			var dur time.Duration
			seed := uint64(0)
			for b.Loop() {
				seed++
				p := sample.Defaults()
				p.Seed = seed
				req := Request{Prompt: prompt, MaxTokens: 128, Sample: p}
				if mode == "schema" {
					c, err := e.Constrain(g)
					if err != nil {
						b.Fatal(err)
					}
					req.Processors = []Processor{c}
				}
				st, err := s.Submit(b.Context(), req)
				if err != nil {
					b.Fatal(err)
				}
				var first, last time.Time
				n := 0
				for ev, ok := st.Recv(); ok; ev, ok = st.Recv() {
					if ev.Token >= 0 {
						last = time.Now()
						if n == 0 {
							first = last
						}
						n++
					}
				}
				if res := st.Result(); res.Err != nil {
					b.Fatal(res.Err)
				}
				toks += n - 1
				dur += last.Sub(first)
			}
			b.ReportMetric(float64(toks)/dur.Seconds(), "tok/s")
			b.ReportMetric(float64(toks)/float64(b.N)+1, "tokens/request")
		})
	}
}
