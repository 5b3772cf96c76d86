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
	vocab, k int
	s        float64
}

var defaultLM = simLM{vocab: 1000, k: 40, s: 1.1}

// dist writes the candidates after prev into ids and their logits into
// logits, both of length k.
func (m simLM) dist(prev int, ids []int32, logits []float32) {
	r := rand.New(rand.NewPCG(uint64(prev), 0xc0ffee))
	for i := range ids {
		ids[i] = int32(r.IntN(m.vocab))
		logits[i] = float32(-m.s * math.Log(float64(i+1)))
	}
}

// generate returns n tokens continuing prompt: drawn from the model with rng,
// or marked by mk when it is not nil.
func (m simLM) generate(rng *rand.Rand, prompt []int, n int, mk *Marker) []int {
	hist := append([]int(nil), prompt...)
	ids := make([]int32, m.k)
	logits := make([]float32, m.k)
	weights := make([]float32, m.k)
	full := make([]float32, m.vocab)
	for range n {
		m.dist(hist[len(hist)-1], ids, logits)
		if mk != nil && mk.Key().Scheme == RedGreen {
			// The bias acts on the whole vocabulary's logits, as in the engine.
			for i := range full {
				full[i] = float32(math.Inf(-1))
			}
			for i, id := range ids {
				full[id] = max(full[id], logits[i])
			}
			mk.Bias(hist, full)
			for i, id := range ids {
				logits[i] = full[id]
			}
		}
		var sum float64
		for i, l := range logits {
			weights[i] = float32(math.Exp(float64(l)))
			sum += float64(weights[i])
		}
		pick := -1
		if mk != nil {
			pick = mk.Choose(hist, ids, weights)
		}
		if pick < 0 {
			u := rng.Float64() * sum
			for pick = 0; pick < len(weights)-1; pick++ {
				if u -= float64(weights[pick]); u < 0 {
					break
				}
			}
		}
		hist = append(hist, int(ids[pick]))
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
