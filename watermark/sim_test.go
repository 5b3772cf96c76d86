package watermark

import (
	"math"
	"math/rand/v2"
)

// simLM is a stand-in language model for tests: after token t it puts
// Zipf-shaped probability (weight 1/rank^s) on k candidates drawn from a
// vocabulary of vocab ids by a generator seeded with t. It is cheap enough
// to generate tens of thousands of texts in a test.
type simLM struct {
	vocab int
	rank  []float64 // (k) weight of each rank
}

func newSimLM(vocab, k int, s float64) simLM {
	m := simLM{vocab: vocab, rank: make([]float64, k)}
	for i := range m.rank {
		m.rank[i] = math.Pow(float64(i+1), -s)
	}
	return m
}

var defaultLM = newSimLM(1000, 40, 1.1)

// candidates writes the k candidate ids after prev into ids.
func (m simLM) candidates(prev int, ids []int) {
	r := rand.NewPCG(uint64(prev), 0xc0ffee)
	for i := range ids {
		ids[i] = int(r.Uint64() % uint64(m.vocab))
	}
}

// generate returns n tokens continuing prompt: drawn from the model with rng,
// or marked by mk when it is not nil.
func (m simLM) generate(rng *rand.Rand, prompt []int, n int, mk *Marker) []int {
	hist := append([]int(nil), prompt...)
	ids := make([]int, len(m.rank))
	weights := make([]float64, len(m.rank))
	for range n {
		m.candidates(hist[len(hist)-1], ids)
		copy(weights, m.rank)
		if mk != nil && mk.Key().Scheme == RedGreen {
			// The bias on logits multiplies a green weight by e^delta.
			// (Marker.Bias over a whole vocabulary is tested in mark_test.go.)
			w, k := mk.Window(hist), mk.Key()
			boost := math.Exp(k.Delta)
			for i, id := range ids {
				if w.Green(id, k.Gamma) {
					weights[i] *= boost
				}
			}
		}
		pick := -1
		if mk != nil {
			pick = mk.Choose(hist, ids, weights)
		}
		if pick < 0 {
			var sum float64
			for _, w := range weights {
				sum += w
			}
			u := rng.Float64() * sum
			for pick = 0; pick < len(weights)-1; pick++ {
				if u -= weights[pick]; u < 0 {
					break
				}
			}
		}
		hist = append(hist, ids[pick])
	}
	return hist[len(prompt):]
}

// randomPrompt returns 8 random token ids.
func (m simLM) randomPrompt(rng *rand.Rand) []int {
	p := make([]int, 8)
	for i := range p {
		p[i] = rng.IntN(m.vocab)
	}
	return p
}

// substitute returns a copy of toks with a fraction frac of the positions
// (chosen at random) replaced by random ids.
func substitute(rng *rand.Rand, toks []int, frac float64, vocab int) []int {
	out := append([]int(nil), toks...)
	for _, i := range rng.Perm(len(out))[:int(math.Round(frac*float64(len(out))))] {
		out[i] = rng.IntN(vocab)
	}
	return out
}
