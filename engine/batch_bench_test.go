package engine

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/qilin-ai/qilin/model"
	"github.com/qilin-ai/qilin/quantize"
	"github.com/qilin-ai/qilin/synth"
)

// BenchmarkBatchDecode measures the aggregate decode throughput of
// continuous batching at the model level: B sequences, each with its own
// cache and position, step together through one model.Runner.Forward per
// token (a Batch of B tokens, logits for every one), as the server's
// scheduler runs them. It reports aggregate tokens/s ("tok/s") and the
// speedup over one stream measured in the same run ("x1").
//
//	go test ./engine -run '^$' -bench BatchDecode -benchtime 64x
//
// The models are $QILIN_BENCH_MODEL (one file), or else random-weight
// models with the exact shape of Qwen2.5-0.5B in Q8_0 and Q4_K_M, written
// once by package synth into the temp directory. Every sequence first
// evaluates a 16-token prompt (not timed); each benchmark iteration is one
// decode step of all B sequences, positions 16 onwards (caches are reused
// from position 16 after 256 steps).
func BenchmarkBatchDecode(b *testing.B) {
	models := []string{os.Getenv("QILIN_BENCH_MODEL")}
	if models[0] == "" {
		models = []string{batchBenchModel(b, "Q8_0"), batchBenchModel(b, "Q4_K_M")}
	}
	for _, path := range models {
		e, err := Load(path, Options{Context: 512})
		if err != nil {
			b.Fatal(err)
		}
		name := strings.TrimSuffix(filepath.Base(path), ".gguf")
		single := 0.0
		for _, B := range []int{1, 4, 8, 16} {
			b.Run(fmt.Sprintf("%s/B=%d", name, B), func(b *testing.B) {
				rate := batchDecode(b, e, B)
				if B == 1 {
					single = rate
				} else if single > 0 {
					b.ReportMetric(rate/single, "x1")
				}
			})
		}
		e.Close()
	}
}

// batchDecode runs b.N decode steps of B sequences and returns the
// aggregate tokens/s.
func batchDecode(b *testing.B, e *Engine, B int) float64 {
	const prompt, steps = 16, 256
	m := e.Model
	r := m.NewRunner(e.Pool, max(B, prompt), e.Context())
	logits := make([]float32, max(B, prompt)*m.NVocab)
	caches := make([]*model.Cache, B)
	for s := range caches {
		caches[s] = m.NewCache(e.Context())
		pb := model.Batch{}
		for p := 0; p < prompt; p++ {
			pb.Tokens = append(pb.Tokens, (s*prompt+p)*7919%m.NVocab)
			pb.Pos = append(pb.Pos, p)
			pb.Caches = append(pb.Caches, caches[s])
			pb.Logits = append(pb.Logits, p == prompt-1)
		}
		if err := r.Forward(&pb, logits); err != nil {
			b.Fatal(err)
		}
	}
	batch := model.Batch{Tokens: make([]int, B), Pos: make([]int, B), Caches: caches, Logits: make([]bool, B)}
	for s := range B {
		batch.Logits[s] = true
	}
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		for s := range B {
			batch.Tokens[s] = (i*B + s) * 104729 % m.NVocab
			batch.Pos[s] = prompt + i%steps
		}
		if err := r.Forward(&batch, logits); err != nil {
			b.Fatal(err)
		}
	}
	rate := float64(b.N*B) / time.Since(start).Seconds()
	b.ReportMetric(rate, "tok/s")
	return rate
}

// batchBenchModel returns the path of the Qwen2.5-0.5B-shaped synthetic
// model quantized as ft, writing it once into the temp directory.
func batchBenchModel(b *testing.B, ft string) string {
	path := filepath.Join(os.TempDir(), "qilin-bench-qwen2.5-0.5b-"+strings.ToLower(ft)+".gguf")
	if _, err := os.Stat(path); err == nil {
		return path
	}
	shape, err := synth.Lookup("qwen2.5-0.5b")
	if err != nil {
		b.Fatal(err)
	}
	t, err := quantize.ParseFileType(ft)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("writing %s (once)", path)
	if err := synth.Write(path, shape, synth.Options{Type: t, Seed: 1}); err != nil {
		b.Fatal(err)
	}
	return path
}
