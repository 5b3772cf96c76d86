package sample_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/qilin-ai/qilin/sample"
)

// distLogits has distinct values so every filter below has one right answer.
// Probabilities at temperature 1, most likely first:
// id 1 .3084, 7 .2284, 3 .1870, 5 .1386, 0 .0688, 2 .0342, 6 .0253, 4 .0093;
// cumulative .3084 .5368 .7238 .8624 .9312 .9654 .9907 1.
var distLogits = []float32{1.0, 2.5, 0.3, 2.0, -1.0, 1.7, 0.0, 2.2}

// chiSquareCritical[df] is the 0.999 quantile of the chi-square distribution.
var chiSquareCritical = []float64{0, 10.83, 13.82, 16.27, 18.47, 20.52, 22.46, 24.32, 26.12}

// expectedProbs is softmax(logits[i]/temp) restricted to keep, in float64.
func expectedProbs(logits []float32, keep []int, temp float64) []float64 {
	p := make([]float64, len(logits))
	var sum float64
	for _, id := range keep {
		p[id] = math.Exp(float64(logits[id]) / temp)
		sum += p[id]
	}
	for i := range p {
		p[i] /= sum
	}
	return p
}

// chiSquare returns the statistic of counts against probs over the tokens
// with nonzero probability, and the number of draws that landed elsewhere.
func chiSquare(counts []int, probs []float64, n int) (stat float64, outside int) {
	for i, c := range counts {
		if probs[i] == 0 {
			outside += c
			continue
		}
		e := probs[i] * float64(n)
		stat += (float64(c) - e) * (float64(c) - e) / e
	}
	return stat, outside
}

func TestSampleDistribution(t *testing.T) {
	const draws = 40000
	tests := []struct {
		name string
		p    sample.Params
		keep []int // the tokens that survive filtering, found by hand from the table above
	}{
		{"temperature 1", sample.Params{Temperature: 1}, []int{0, 1, 2, 3, 4, 5, 6, 7}},
		{"temperature 2", sample.Params{Temperature: 2}, []int{0, 1, 2, 3, 4, 5, 6, 7}},
		{"temperature 0.5", sample.Params{Temperature: 0.5}, []int{0, 1, 2, 3, 4, 5, 6, 7}},
		{"top-k 3", sample.Params{Temperature: 1, TopK: 3}, []int{1, 7, 3}},
		{"top-k 2 temperature 0.5", sample.Params{Temperature: 0.5, TopK: 2}, []int{1, 7}},
		{"top-k above vocabulary", sample.Params{Temperature: 1, TopK: 100}, []int{0, 1, 2, 3, 4, 5, 6, 7}},
		{"top-p 0.7", sample.Params{Temperature: 1, TopP: 0.7}, []int{1, 7, 3}},
		{"top-p 0.9", sample.Params{Temperature: 1, TopP: 0.9}, []int{1, 7, 3, 5, 0}},
		{"top-p 0.9 temperature 0.7", sample.Params{Temperature: 0.7, TopP: 0.9}, []int{1, 7, 3, 5, 0}},
		{"top-p 1 is off", sample.Params{Temperature: 1, TopP: 1}, []int{0, 1, 2, 3, 4, 5, 6, 7}},
		{"min-p 0.2", sample.Params{Temperature: 1, MinP: 0.2}, []int{1, 7, 3, 5, 0}},
		{"min-p 0.5", sample.Params{Temperature: 1, MinP: 0.5}, []int{1, 7, 3}},
		{"min-p above 1 keeps the top token", sample.Params{Temperature: 1, MinP: 2}, []int{1}},
		// After top-k 5 the mass renormalizes: cumulative .331 .576 .777 .926.
		{"top-k 5 then top-p 0.8", sample.Params{Temperature: 1, TopK: 5, TopP: 0.8}, []int{1, 7, 3, 5}},
		{"top-p 0.9 then min-p 0.5", sample.Params{Temperature: 1.5, TopP: 0.9, MinP: 0.5}, []int{1, 7, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := sample.New(tt.p)
			counts := make([]int, len(distLogits))
			for range draws {
				counts[s.Sample(distLogits, nil)]++
			}
			probs := expectedProbs(distLogits, tt.keep, float64(tt.p.Temperature))
			stat, outside := chiSquare(counts, probs, draws)
			df := len(tt.keep) - 1
			t.Logf("counts %v chi-square %.2f (df %d, 0.999 critical %.2f)", counts, stat, df, chiSquareCritical[df])
			if outside != 0 {
				t.Errorf("%d draws outside the kept set %v: counts %v", outside, tt.keep, counts)
			}
			if df > 0 && stat > chiSquareCritical[df] {
				t.Errorf("chi-square %.2f > %.2f: counts %v do not follow %v", stat, chiSquareCritical[df], counts, probs)
			}
			if df == 0 && counts[tt.keep[0]] != draws {
				t.Errorf("counts %v, want all on %d", counts, tt.keep[0])
			}
		})
	}
}

// TestChiSquareHasPower checks that the distribution test would notice a
// sampler that ignored the temperature.
func TestChiSquareHasPower(t *testing.T) {
	const draws = 40000
	s := sample.New(sample.Params{Temperature: 1, Seed: 3})
	counts := make([]int, len(distLogits))
	for range draws {
		counts[s.Sample(distLogits, nil)]++
	}
	all := []int{0, 1, 2, 3, 4, 5, 6, 7}
	stat, _ := chiSquare(counts, expectedProbs(distLogits, all, 1.3), draws)
	if stat < 10*chiSquareCritical[7] {
		t.Errorf("draws at temperature 1 pass as temperature 1.3 (chi-square %.1f)", stat)
	}
}

func TestGreedy(t *testing.T) {
	nan := float32(math.NaN())
	inf := float32(math.Inf(1))
	tests := []struct {
		name    string
		p       sample.Params
		logits  []float32
		history []int
		want    int
	}{
		{"argmax", sample.Params{}, []float32{0.1, 3, -2, 2.9}, nil, 1},
		{"ties to lowest id", sample.Params{}, []float32{1, 5, 2, 5, 5}, nil, 1},
		{"negative temperature", sample.Params{Temperature: -1}, []float32{-3, -1, -2}, nil, 1},
		{"NaN skipped", sample.Params{}, []float32{nan, 1, nan, 2}, nil, 3},
		{"all NaN", sample.Params{}, []float32{nan, nan}, nil, 0},
		{"+Inf wins", sample.Params{}, []float32{1, inf, 2}, nil, 1},
		{"one token", sample.Params{}, []float32{-7}, nil, 0},
		{"top-k 1 at temperature 1", sample.Params{Temperature: 1, TopK: 1, Seed: 9}, []float32{1, 1.01, 0}, nil, 1},
		{"+Inf at temperature 1", sample.Params{Temperature: 1}, []float32{1, 2, inf}, nil, 2},
		{"all -Inf at temperature 1", sample.Params{Temperature: 1}, []float32{-inf, -inf, -inf}, nil, 0},
		// 5/1.1 = 4.55 < 4.9: the penalty flips the choice.
		{"repeat penalty flips", sample.Params{RepeatPenalty: 1.1}, []float32{5, 4.9}, []int{0}, 1},
		{"repeat penalty outside window", sample.Params{RepeatPenalty: 1.1, RepeatLastN: 1}, []float32{5, 4.9}, []int{0, 1}, 0},
		// -1*2 = -2 < -1.5.
		{"repeat penalty on negative logit", sample.Params{RepeatPenalty: 2}, []float32{-1, -1.5}, []int{0}, 1},
		{"presence penalty", sample.Params{PresencePenalty: 0.2}, []float32{1, 0.9}, []int{0}, 1},
		// 1 - 3*0.05 = 0.85 < 0.9 but 1 - 1*0.05 = 0.95 > 0.9.
		{"frequency penalty counts", sample.Params{FrequencyPenalty: 0.05}, []float32{1, 0.9}, []int{0, 0, 0}, 1},
		{"frequency penalty once", sample.Params{FrequencyPenalty: 0.05}, []float32{1, 0.9}, []int{0}, 0},
		{"history ids out of range ignored", sample.Params{RepeatPenalty: 2, PresencePenalty: 1}, []float32{1, 0}, []int{-1, 2, 99}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := sample.New(tt.p)
			in := slices.Clone(tt.logits)
			if got := s.Sample(tt.logits, tt.history); got != tt.want {
				t.Errorf("Sample = %d, want %d", got, tt.want)
			}
			if diff := cmp.Diff(fmt.Sprint(in), fmt.Sprint(tt.logits)); diff != "" {
				t.Errorf("Sample modified logits (-before +after):\n%s", diff)
			}
		})
	}
}

func TestEmptyLogits(t *testing.T) {
	if got := sample.New(sample.Params{Temperature: 1}).Sample(nil, []int{1}); got != -1 {
		t.Errorf("Sample(nil) = %d, want -1", got)
	}
}

func TestTopKTiesKeepLowestIDs(t *testing.T) {
	logits := make([]float32, 300) // all equal: top-k 2 keeps ids 0 and 1
	s := sample.New(sample.Params{Temperature: 1, TopK: 2, Seed: 1})
	seen := map[int]int{}
	for range 2000 {
		seen[s.Sample(logits, nil)]++
	}
	if len(seen) != 2 || seen[0] == 0 || seen[1] == 0 {
		t.Errorf("top-k 2 over equal logits drew %v, want only ids 0 and 1", seen)
	}
}

func randomLogits(r *rand.Rand, n int) []float32 {
	l := make([]float32, n)
	for i := range l {
		l[i] = float32(r.NormFloat64() * 3)
	}
	return l
}

func TestDeterminism(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	logits := randomLogits(r, 1000)
	p := sample.Params{Temperature: 0.9, TopK: 200, TopP: 0.95, MinP: 0.01, RepeatPenalty: 1.1, PresencePenalty: 0.1, FrequencyPenalty: 0.1, Seed: 42}
	run := func(p sample.Params) []int {
		s := sample.New(p)
		var hist []int
		for range 300 {
			hist = append(hist, s.Sample(logits, hist))
		}
		return hist
	}
	a, b := run(p), run(p)
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("same seed, different tokens (-first +second):\n%s", diff)
	}
	p.Seed = 43
	if c := run(p); slices.Equal(a, c) {
		t.Errorf("seeds 42 and 43 drew the same 300 tokens")
	}
}

func TestZeroAllocs(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	logits := randomLogits(r, 32000)
	hist := []int{1, 5, 9, 1, 31999, 77, 5}
	for _, p := range []sample.Params{
		{},
		{RepeatPenalty: 1.1},
		{Temperature: 0.8, TopK: 40, TopP: 0.95, MinP: 0.05, RepeatPenalty: 1.1, PresencePenalty: 0.5, FrequencyPenalty: 0.5, Seed: 1},
		{Temperature: 1, TopP: 0.99},
		{Temperature: 1},
	} {
		s := sample.New(p)
		s.Sample(logits, hist)
		if n := testing.AllocsPerRun(50, func() { s.Sample(logits, hist) }); n != 0 {
			t.Errorf("%+v: %v allocations per Sample, want 0", p, n)
		}
	}
}

// TestTopPLargeVocabulary checks the growing partial sort of top-p against a
// full sort on a vocabulary where the nucleus needs many tokens.
func TestTopPLargeVocabulary(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	logits := make([]float32, 5000)
	for i := range logits {
		logits[i] = float32(r.NormFloat64() * 0.5) // flat: the nucleus holds thousands
	}
	const topP = 0.9
	ids := make([]int, len(logits))
	for i := range ids {
		ids[i] = i
	}
	slices.SortFunc(ids, func(a, b int) int {
		if logits[a] != logits[b] {
			if logits[a] > logits[b] {
				return -1
			}
			return 1
		}
		return a - b
	})
	var total float64
	for _, l := range logits {
		total += math.Exp(float64(l))
	}
	inNucleus := map[int]bool{}
	var cum float64
	for _, id := range ids {
		inNucleus[id] = true
		cum += math.Exp(float64(logits[id])) / total
		if cum >= topP {
			break
		}
	}
	t.Logf("nucleus of %d tokens", len(inNucleus))
	s := sample.New(sample.Params{Temperature: 1, TopP: topP, Seed: 11})
	for range 3000 {
		if id := s.Sample(logits, nil); !inNucleus[id] {
			t.Fatalf("drew %d (logit %v), outside the nucleus", id, logits[id])
		}
	}
}

func TestTopLogprobs(t *testing.T) {
	nan := float32(math.NaN())
	tests := []struct {
		name   string
		logits []float32
		k      int
		want   []int
	}{
		{"order", []float32{0.5, 2, -1, 1, 3}, 3, []int{4, 1, 3}},
		{"ties to lowest id", []float32{1, 2, 2, 0, 2}, 2, []int{1, 2}},
		{"k above length", []float32{1, 0}, 5, []int{0, 1}},
		{"k zero", []float32{1, 0}, 0, []int{}},
		{"NaN last", []float32{nan, 0, 1}, 3, []int{2, 1, 0}},
		{"empty", nil, 3, []int{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := sample.TopLogprobs(tt.logits, tt.k, nil)
			ids := []int{}
			for _, g := range got {
				ids = append(ids, g.ID)
			}
			if diff := cmp.Diff(tt.want, ids); diff != "" {
				t.Errorf("ids (-want +got):\n%s", diff)
			}
		})
	}

	r := rand.New(rand.NewPCG(3, 4))
	logits := randomLogits(r, 1000)
	var sum float64
	for _, l := range logits {
		sum += math.Exp(float64(l))
	}
	const tol = 1e-5
	t.Logf("tolerance %g", tol)
	dst := make([]sample.TokenLogprob, 0, 8)
	got := sample.TopLogprobs(logits, 8, dst)
	for i, g := range got {
		want := float64(logits[g.ID]) - math.Log(sum)
		if math.Abs(float64(g.Logprob)-want) > tol {
			t.Errorf("top %d (id %d): logprob %v, want %v", i, g.ID, g.Logprob, want)
		}
		if lp := sample.Logprob(logits, g.ID); lp != g.Logprob {
			t.Errorf("Logprob(%d) = %v, TopLogprobs says %v", g.ID, lp, g.Logprob)
		}
		if i > 0 && g.Logprob > got[i-1].Logprob {
			t.Errorf("not sorted at %d: %v", i, got)
		}
	}
	for id, l := range logits {
		if l > logits[got[len(got)-1].ID] && !slices.ContainsFunc(got, func(g sample.TokenLogprob) bool { return g.ID == id }) {
			t.Errorf("id %d (logit %v) missing from the top 8", id, l)
		}
	}
	if n := testing.AllocsPerRun(20, func() { sample.TopLogprobs(logits, 8, dst) }); n != 0 {
		t.Errorf("TopLogprobs: %v allocations with a large enough dst", n)
	}
	if lp := sample.Logprob(logits, -1); !math.IsInf(float64(lp), -1) {
		t.Errorf("Logprob(-1) = %v, want -Inf", lp)
	}
	if lp := sample.Logprob([]float32{float32(math.Inf(1)), 0}, 0); lp != 0 {
		t.Errorf("Logprob of the only +Inf logit = %v, want 0", lp)
	}
}

func FuzzSample(f *testing.F) {
	f.Add([]byte{1, 200, 3, 4, 5}, float32(0.8), 2, float32(0.9), float32(0.05), float32(1.1), 3, uint64(1))
	f.Add([]byte{0}, float32(0), 0, float32(0), float32(0), float32(0), 0, uint64(0))
	f.Add([]byte{255, 255, 255}, float32(1e-30), -1, float32(2), float32(1), float32(-1), -5, uint64(7))
	f.Fuzz(func(t *testing.T, raw []byte, temp float32, topK int, topP, minP, rp float32, hist int, seed uint64) {
		if len(raw) == 0 {
			return
		}
		logits := make([]float32, len(raw))
		for i, b := range raw {
			logits[i] = float32(int(b)-128) / 8
		}
		history := []int{hist, hist + 1, hist % len(raw)}
		s := sample.New(sample.Params{Temperature: temp, TopK: topK, TopP: topP, MinP: minP, RepeatPenalty: rp,
			PresencePenalty: rp - 1, FrequencyPenalty: 1 - rp, Seed: seed})
		for range 3 {
			if id := s.Sample(logits, history); id < 0 || id >= len(logits) {
				t.Fatalf("Sample = %d, vocabulary %d", id, len(logits))
			}
		}
	})
}

func BenchmarkSample(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	logits := randomLogits(r, 151936) // Qwen2 vocabulary
	hist := make([]int, 256)
	for i := range hist {
		hist[i] = r.IntN(len(logits))
	}
	for _, bc := range []struct {
		name string
		p    sample.Params
	}{
		{"greedy", sample.Params{}},
		{"temp", sample.Params{Temperature: 0.7}},
		{"topk40-topp0.95", sample.Params{Temperature: 0.7, TopK: 40, TopP: 0.95}},
		{"topp0.95-penalties", sample.Params{Temperature: 0.6, TopP: 0.95, RepeatPenalty: 1.1, PresencePenalty: 0.5}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			s := sample.New(bc.p)
			for b.Loop() {
				s.Sample(logits, hist)
			}
		})
	}
}
