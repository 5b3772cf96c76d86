package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// deltaPlain is the gated delta rule in float64, the plain reference.
func deltaPlain(state []float64, q, k, v []float32, decay, beta float64) []float64 {
	S := len(k)
	o := make([]float64, S)
	for j := 0; j < S; j++ {
		row := state[j*S : (j+1)*S]
		var sk float64
		for i := range row {
			row[i] *= decay
			sk += row[i] * float64(k[i])
		}
		d := (float64(v[j]) - sk) * beta
		for i := range row {
			row[i] += d * float64(k[i])
			o[j] += row[i] * float64(q[i])
		}
	}
	return o
}

// TestDeltaRuleKernelSets runs every set's delta rule against deltaRuleGo
// bit for bit, and deltaRuleGo against the float64 rule (relative error
// 1e-5 of the largest output), over head sizes with and without a tail
// of columns past a multiple of 8, for several tokens in a row.
func TestDeltaRuleKernelSets(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, S := range []int{8, 16, 24, 32, 128, 12, 3} {
		init := make([]float32, S*S)
		for i := range init {
			init[i] = float32(rng.NormFloat64() * 0.5)
		}
		want := append([]float32(nil), init...)
		plain := make([]float64, S*S)
		for i, x := range init {
			plain[i] = float64(x)
		}
		states := make([][]float32, len(kernelSets))
		for s := range states {
			states[s] = append([]float32(nil), init...)
		}
		for tok := 0; tok < 5; tok++ {
			q, k, v := randVec(rng, S, 1), randVec(rng, S, 1), randVec(rng, S, 1)
			decay, beta := float32(0.5+0.5*rng.Float64()), float32(rng.Float64())
			wo := make([]float32, S)
			deltaRuleGo(want, q, k, v, wo, decay, beta)
			po := deltaPlain(plain, q, k, v, float64(decay), float64(beta))
			var maxErr, maxAbs float64
			for j := range po {
				maxErr = math.Max(maxErr, math.Abs(float64(wo[j])-po[j]))
				maxAbs = math.Max(maxAbs, math.Abs(po[j]))
			}
			if maxErr > 1e-5*maxAbs {
				t.Errorf("S=%d token %d: deltaRuleGo off the float64 rule by %.3g (max |o| %.3g), tolerance 1e-5 relative", S, tok, maxErr, maxAbs)
			}
			for s, ks := range kernelSets {
				got := make([]float32, S)
				ks.delta(states[s], q, k, v, got, decay, beta)
				for j := range got {
					if math.Float32bits(got[j]) != math.Float32bits(wo[j]) {
						t.Fatalf("%s S=%d token %d: o[%d] = %v, deltaRuleGo %v", ks.name, S, tok, j, got[j], wo[j])
					}
				}
				for i := range want {
					if math.Float32bits(states[s][i]) != math.Float32bits(want[i]) {
						t.Fatalf("%s S=%d token %d: state[%d] = %v, deltaRuleGo %v", ks.name, S, tok, i, states[s][i], want[i])
					}
				}
			}
		}
	}
}
