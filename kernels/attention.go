package kernels

import (
	"math"

	"github.com/qilin-ai/qilin/quant"
)

// AttnScratch holds the per-thread buffers of AttentionHead.
type AttnScratch struct {
	q   []uint16 // query rounded to f16 (head_k)
	acc []uint16 // value accumulator in f16 (head_v)
}

// NewAttnScratch allocates scratch for heads of the given key and value sizes.
func NewAttnScratch(headK, headV int) *AttnScratch {
	return &AttnScratch{q: make([]uint16, headK), acc: make([]uint16, headV)}
}

// AttentionHead computes one query head's causal attention over n cached
// positions whose keys and values are stored as f16:
//
//	q (hk), K rows k[j*kStride : j*kStride+hk], V rows v[j*vStride : j*vStride+hv]
//	-> out (hv) = softmax(scale * q·K_j) · V
//
// The arithmetic is llama.cpp's CPU flash attention with an f16 cache: the
// query is rounded to f16, scores are f16·f16 dots in f32, the softmax runs
// online with a running maximum, and the weighted sum of values accumulates
// in f16, rescaled whenever the maximum grows. Following it (rather than a
// plain f32 softmax) is what makes logits agree with llama.cpp to ~1e-10 KL.
func AttentionHead(out, q []float32, k []uint16, kStride int, v []uint16, vStride int, n int, scale float32, s *AttnScratch) {
	hk, hv := len(q), len(out)
	q16, acc := s.q[:hk], s.acc[:hv]
	for i, x := range q {
		q16[i] = quant.FP32ToFP16(x)
	}
	clear(acc)
	var sum float32
	m := float32(math.Inf(-1))
	for j := 0; j < n; j++ {
		kj := k[j*kStride : j*kStride+hk]
		var dot float32
		for i, x := range q16 {
			dot += quant.FP16ToFP32(x) * quant.FP16ToFP32(kj[i])
		}
		score := dot * scale
		ms, vs := float32(1), float32(1)
		if score > m {
			ms = float32(math.Exp(float64(m - score)))
			m = score
			for i, a := range acc {
				acc[i] = quant.FP32ToFP16(quant.FP16ToFP32(a) * ms)
			}
		} else {
			vs = float32(math.Exp(float64(score - m)))
		}
		vj := v[j*vStride : j*vStride+hv]
		for i, a := range acc {
			acc[i] = quant.FP32ToFP16(quant.FP16ToFP32(a) + quant.FP16ToFP32(vj[i])*vs)
		}
		sum = sum*ms + vs
	}
	inv := float32(0)
	if sum != 0 {
		inv = 1 / sum
	}
	for i, a := range acc {
		out[i] = quant.FP16ToFP32(a) * inv
	}
}
