package watermark

import (
	"math"
	"math/rand/v2"
	"testing"
)

// The per-token cost of marking over a Qwen-sized vocabulary (151936 ids),
// to set against a decode step (26 ms for Qwen2.5-0.5B Q4_K_M on 2 cores,
// docs/perf.md): go test ./watermark -bench . -run XXX

const benchVocab = 151936

// benchDist is a temperature-1 distribution over the whole vocabulary, as
// a sampler without top-k/top-p hands it over: logits ~ N(0, 3²).
func benchDist() ([]int, []float64, []float32) {
	rng := rand.New(rand.NewPCG(1, 1))
	ids := make([]int, benchVocab)
	w := make([]float64, benchVocab)
	logits := make([]float32, benchVocab)
	for i := range ids {
		ids[i] = i
		logits[i] = float32(rng.NormFloat64() * 3)
		w[i] = math.Exp(float64(logits[i]))
	}
	return ids, w, logits
}

func BenchmarkWindow(b *testing.B) {
	win := newWindower(testKey(Gumbel, 1).Secret)
	ctx := []int{1, 2, 3, 4}
	for i := 0; b.Loop(); i++ {
		ctx[0] = i
		win.window(ctx)
	}
}

func BenchmarkGumbelFullVocab(b *testing.B) {
	ids, w, _ := benchDist()
	mk := NewMarker(testKey(Gumbel, 1))
	hist := []int{1, 2, 3, 4}
	for i := 0; b.Loop(); i++ {
		hist[3] = i
		mk.Choose(hist, ids, w)
	}
}

func BenchmarkGumbelTop40(b *testing.B) {
	ids, w, _ := benchDist()
	mk := NewMarker(testKey(Gumbel, 1))
	hist := []int{1, 2, 3, 4}
	for i := 0; b.Loop(); i++ {
		hist[3] = i
		mk.Choose(hist, ids[:40], w[:40])
	}
}

func BenchmarkBiasGreenFullVocab(b *testing.B) {
	_, _, logits := benchDist()
	mk := NewMarker(testKey(RedGreen, 1))
	hist := []int{1, 2, 3, 4}
	for i := 0; b.Loop(); i++ {
		hist[3] = i
		mk.Bias(hist, logits)
	}
}

func BenchmarkScoreText(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	toks := make([]int, 1000)
	for i := range toks {
		toks[i] = rng.IntN(benchVocab)
	}
	k := testKey(Gumbel, 1)
	for b.Loop() {
		Detect(toks, []Key{k}, Options{})
	}
}
