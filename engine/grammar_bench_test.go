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
// second of decoding) of one request at a time through the scheduler, free
// and held to a nested JSON Schema (../grammar/testdata/nested.json), the
// two alternating, 128 tokens each, on the model QILIN_BENCH_MODEL (else
// BenchmarkBatchDecode's random-weight Qwen2.5-0.5B Q4_K_M) with
// QILIN_BENCH_THREADS threads (default 2). The grammar is compiled once,
// as a server's cache keeps it; its tables fill during the first
// requests. The ratio pools each side's tokens and times. Say:
//
//	go test ./engine -run '^$' -bench DecodeSchema -benchtime 4x -count 3
func BenchmarkDecodeSchema(b *testing.B) {
	path := os.Getenv("QILIN_BENCH_MODEL")
	if path == "" {
		path = batchBenchModel(b, "Q4_K_M")
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
	// decode runs one request and returns its tokens after the first and
	// the time they took.
	decode := func(seed uint64, held bool) (int, time.Duration) {
		p := sample.Defaults()
		p.Seed = seed
		req := Request{Prompt: prompt, MaxTokens: 128, Sample: p}
		if held {
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
		return n - 1, last.Sub(first)
	}
	// Each iteration runs both, in turns first, so that both see the
	// same load.
	var toks [2]int
	var dur [2]time.Duration
	seed := uint64(0)
	for b.Loop() {
		seed++
		for k := range 2 {
			held := (int(seed)+k)%2 == 1
			n, d := decode(seed, held)
			i := 0
			if held {
				i = 1
			}
			toks[i] += n
			dur[i] += d
		}
	}
	free, held := float64(toks[0])/dur[0].Seconds(), float64(toks[1])/dur[1].Seconds()
	b.ReportMetric(free, "free-tok/s")
	b.ReportMetric(held, "schema-tok/s")
	b.ReportMetric(held/free, "schema/free")
	b.ReportMetric(float64(toks[1])/float64(b.N)+1, "schema-tokens/request")
}
