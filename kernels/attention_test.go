package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/qilin-ai/qilin/quant"
)

// TestAttentionKernelSets runs AttentionHead on every kernel set: the SIMD
// kernels must give the generic result bit for bit, and the generic result
// must agree with a float64 softmax over the f16 cache to f16 precision.
func TestAttentionKernelSets(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, dims := range [][2]int{{64, 64}, {128, 128}, {20, 36}, {8, 8}} {
		hk, hv := dims[0], dims[1]
		for _, n := range []int{1, 2, 17, 300} {
			kStride, vStride := hk+8, hv+3
			k := make([]uint16, n*kStride)
			v := make([]uint16, n*vStride)
			for i := range k {
				k[i] = quant.FP32ToFP16(float32(rng.NormFloat64()))
			}
			for i := range v {
				v[i] = quant.FP32ToFP16(float32(rng.NormFloat64()))
			}
			q := make([]float32, hk)
			for i := range q {
				q[i] = float32(rng.NormFloat64() * 2)
			}
			scale := float32(1 / math.Sqrt(float64(hk)))
			want := make([]float32, hv)
			attentionHead(genericSet, want, q, k, kStride, v, vStride, n, scale, NewAttnScratch(hk, hv))

			// float64 reference over the same f16 values.
			scores := make([]float64, n)
			m := math.Inf(-1)
			for j := range scores {
				for i := range q {
					scores[j] += float64(quant.FP16ToFP32(quant.FP32ToFP16(q[i]))) * float64(quant.FP16ToFP32(k[j*kStride+i]))
				}
				scores[j] *= float64(scale)
				m = math.Max(m, scores[j])
			}
			var sum float64
			for j := range scores {
				scores[j] = math.Exp(scores[j] - m)
				sum += scores[j]
			}
			for i := range want {
				var ref float64
				for j := range scores {
					ref += scores[j] / sum * float64(quant.FP16ToFP32(v[j*vStride+i]))
				}
				if math.Abs(ref-float64(want[i])) > 4e-3*(1+math.Abs(ref)) {
					t.Errorf("hk %d n %d: generic out[%d] = %v, float64 softmax %v", hk, n, i, want[i], ref)
				}
			}
			for _, ks := range kernelSets[1:] {
				got := make([]float32, hv)
				attentionHead(ks, got, q, k, kStride, v, vStride, n, scale, NewAttnScratch(hk, hv))
				for i := range got {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Errorf("%s hk %d hv %d n %d: out[%d] = %v, generic %v", ks.name, hk, hv, n, i, got[i], want[i])
						break
					}
				}
			}
		}
	}
}
