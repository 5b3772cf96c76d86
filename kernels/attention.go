package kernels

import (
	"math"

	"github.com/qilin-ai/qilin/quant"
)

// AttnScratch holds the per-thread buffers of AttentionHead.
type AttnScratch struct {
	q   []float32 // query rounded to f16, as float32 (head_k)
	acc []uint16  // value accumulator in f16 (head_v)
	// One block of positions: scores, then exp arguments; their
	// exponentials; and whether each raised the running maximum.
	s, e []float32
	up   []bool
}

// attnBlock is how many positions AttentionHead scores, exponentiates and
// accumulates per pass; it bounds the scratch whatever the context.
const attnBlock = 256

// NewAttnScratch allocates scratch for heads of the given key and value sizes.
func NewAttnScratch(headK, headV int) *AttnScratch {
	return &AttnScratch{
		q: make([]float32, headK), acc: make([]uint16, headV),
		s: make([]float32, attnBlock), e: make([]float32, attnBlock),
		up: make([]bool, attnBlock),
	}
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
// The work is done in blocks of positions (all scores, then all
// exponentials, then the accumulation), which changes no rounding: the
// SIMD and generic kernels give bit-identical results, those of the
// position-by-position recurrence.
func AttentionHead(out, q []float32, k []uint16, kStride int, v []uint16, vStride int, n int, scale float32, s *AttnScratch) {
	attentionHead(active, out, q, k, kStride, v, vStride, n, scale, s)
}

func attentionHead(ks *kernelSet, out, q []float32, k []uint16, kStride int, v []uint16, vStride int, n int, scale float32, s *AttnScratch) {
	hk, hv := len(q), len(out)
	qf, acc := s.q[:hk], s.acc[:hv]
	for i, x := range q {
		qf[i] = quant.FP16ToFP32(quant.FP32ToFP16(x))
	}
	clear(acc)
	var sum float32
	m := float32(math.Inf(-1))
	for j0 := 0; j0 < n; j0 += attnBlock {
		b := min(attnBlock, n-j0)
		sc, e, up := s.s[:b], s.e[:b], s.up[:b]
		ks.attnScores(sc, qf, k[j0*kStride:], kStride, scale)
		// A score above the running maximum rescales the accumulator by
		// exp(m - score) and weighs its value 1; any other weighs
		// exp(score - m).
		for j, x := range sc {
			up[j] = x > m
			if up[j] {
				sc[j] = m - x
				m = x
			} else {
				sc[j] = x - m
			}
		}
		ks.exp(e, sc)
		sum = ks.attnAccum(acc, v[j0*vStride:], vStride, e, up, sum)
	}
	inv := float32(0)
	if sum != 0 {
		inv = 1 / sum
	}
	for i, a := range acc {
		out[i] = quant.FP16ToFP32(a) * inv
	}
}

// attnScoresGo writes s[j] = attnDotGo(q, key j) * scale for the len(s)
// keys k[j*kStride:].
func attnScoresGo(s, q []float32, k []uint16, kStride int, scale float32) {
	for j := range s {
		s[j] = attnDotGo(q, k[j*kStride:j*kStride+len(q)]) * scale
	}
}

// expGo writes dst[i] = float32(math.Exp(float64(x[i]))).
func expGo(dst, x []float32) {
	x = x[:len(dst)]
	for i, v := range x {
		dst[i] = float32(math.Exp(float64(v)))
	}
}

// attnAccumGo applies len(e) positions to the f16 accumulator and returns
// the softmax denominator after them: where up[j] (the maximum grew),
// attnAccGo rescales by e[j] and adds value j with weight 1, and sum =
// float32(sum*e[j]) + 1; elsewhere value j weighs e[j] and sum += e[j].
func attnAccumGo(acc, v []uint16, vStride int, e []float32, up []bool, sum float32) float32 {
	up = up[:len(e)]
	for j, x := range e {
		ms, vs := float32(1), x
		if up[j] {
			ms, vs = x, 1
		}
		attnAccGo(acc, v[j*vStride:j*vStride+len(acc)], ms, vs, up[j])
		sum = float32(sum*ms) + vs
	}
	return sum
}

// attnDotGo returns sum q[i]*float32(k[i]) with each product rounded to
// float32 (exact when q and k hold f16 values) and the sum accumulated in
// float64, then rounded to float32, as ggml_vec_dot_f16 accumulates its
// scalar part. The first 8*(len(q)/8) products are summed in 8 lanes (lane l
// takes i ≡ l mod 8, in order), the lanes reduced as e_j = l_j + l_{j+4},
// (e0+e2) + (e1+e3), and the rest added in order: the order of the AVX2
// kernel, so both give the same bits.
func attnDotGo(q []float32, k []uint16) float32 {
	k = k[:len(q)]
	var l [8]float64
	n8 := len(q) / 8 * 8
	for i := 0; i < n8; i += 8 {
		for j := range l {
			l[j] += float64(q[i+j] * quant.FP16ToFP32(k[i+j]))
		}
	}
	s := ((l[0] + l[4]) + (l[2] + l[6])) + ((l[1] + l[5]) + (l[3] + l[7]))
	for i := n8; i < len(q); i++ {
		s += float64(q[i] * quant.FP16ToFP32(k[i]))
	}
	return float32(s)
}

// attnAccGo updates the f16 accumulator acc with value row v: if rescale,
// acc = f16(acc*ms) first; then acc = f16(acc + float32(v*vs)).
func attnAccGo(acc, v []uint16, ms, vs float32, rescale bool) {
	v = v[:len(acc)]
	if rescale {
		for i, a := range acc {
			acc[i] = quant.FP32ToFP16(float32(quant.FP16ToFP32(a) * ms))
		}
	}
	for i, a := range acc {
		acc[i] = quant.FP32ToFP16(quant.FP16ToFP32(a) + float32(quant.FP16ToFP32(v[i])*vs))
	}
}
