package kernels

import (
	"math"

	"github.com/qilin-ai/qilin/quant"
)

// AttnScratch holds the per-thread buffers of AttentionHead.
type AttnScratch struct {
	q   []float32 // query rounded to f16, as float32 (head_k)
	acc []uint16  // value accumulator in f16 (head_v)
	// The tiled path's per-row state for a block of up to AttnTileRows rows
	// (running maximum, denominator, float32 accumulators of head_v) and
	// one tile of keys (transposed) and values in float32.
	tm, tsum, tacc []float32
	kt, vt         []float32
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
		tm: make([]float32, AttnTileRows), tsum: make([]float32, AttnTileRows), tacc: make([]float32, AttnTileRows*headV),
		kt: make([]float32, headK*attnTileKV), vt: make([]float32, attnTileKV*headV),
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
// The arithmetic is that of llama.cpp's CPU flash attention with an f16
// cache (ggml_compute_forward_flash_attn_ext_f16_one_chunk, built for x86
// with AVX-512): the query is rounded to f16; each score is
// ggml_vec_dot_f16's sum (attnDotGo) times scale; the softmax runs online
// with a running maximum and glibc's expf; the weighted sum of values
// accumulates in f16 by fused multiply-adds, rescaled whenever the maximum
// grows; the denominator is updated by one fused multiply-add. Following it
// (rather than a plain f32 softmax) is what makes logits agree with
// llama.cpp bit for bit. The work is done in blocks of positions (all
// scores, then all exponentials, then the accumulation), which changes no
// rounding: the SIMD and generic kernels give bit-identical results, those
// of the position-by-position recurrence.
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
		ks.expf(e, sc)
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

// expfGo writes dst[i] = expf(x[i]), glibc's single-precision exp.
func expfGo(dst, x []float32) {
	x = x[:len(dst)]
	for i, v := range x {
		dst[i] = expf(v)
	}
}

// attnAccumGo applies len(e) positions to the f16 accumulator and returns
// the softmax denominator after them: where up[j] (the maximum grew),
// attnAccGo rescales by e[j] and adds value j with weight 1, and sum =
// sum*e[j] + 1 by one fused multiply-add; elsewhere value j weighs e[j] and
// sum += e[j].
func attnAccumGo(acc, v []uint16, vStride int, e []float32, up []bool, sum float32) float32 {
	up = up[:len(e)]
	for j, x := range e {
		ms, vs := float32(1), x
		if up[j] {
			ms, vs = x, 1
		}
		attnAccGo(acc, v[j*vStride:j*vStride+len(acc)], ms, vs, up[j])
		sum = fma32(sum, ms, vs)
	}
	return sum
}

// attnDotGo returns ggml_vec_dot_f16(q, k) as llama.cpp's AVX-512 build
// computes it, with q holding f16 values as float32: the first 64*(n/64)
// products accumulate by fused multiply-adds in four float32 vectors of 16
// lanes (lane l of vector j takes i ≡ 16j+l mod 64), which are added as
// (v0+v2) + (v1+v3) and then reduced 16 -> 8 -> 4 -> 2 -> 1 by halves
// (_mm512_reduce_add_ps); the remaining products, exact in float32, are
// added one by one in float64, and the sum is rounded to float32.
func attnDotGo(q []float32, k []uint16) float32 {
	k = k[:len(q)]
	n := len(q)
	np := n &^ 63
	var sum float64
	if np > 0 {
		var acc [4][16]float32
		for i := 0; i < np; i += 64 {
			for j := range acc {
				for l := range acc[j] {
					c := i + 16*j + l
					acc[j][l] = fma32(q[c], quant.FP16ToFP32(k[c]), acc[j][l])
				}
			}
		}
		var v [16]float32
		for l := range v {
			v[l] = (acc[0][l] + acc[2][l]) + (acc[1][l] + acc[3][l])
		}
		for w := 8; w >= 1; w /= 2 {
			for l := 0; l < w; l++ {
				v[l] += v[l+w]
			}
		}
		sum = float64(v[0])
	}
	for i := np; i < n; i++ {
		sum += float64(q[i] * quant.FP16ToFP32(k[i]))
	}
	return float32(sum)
}

// attnAccGo updates the f16 accumulator acc with value row v: if rescale,
// acc = f16(acc*ms) first; then acc = f16(acc + v*vs), the multiply-add
// fused (ggml_vec_scale_f16 and ggml_vec_mad_f16, whose scalar tails the
// x86 build contracts like their vector bodies).
func attnAccGo(acc, v []uint16, ms, vs float32, rescale bool) {
	v = v[:len(acc)]
	if rescale {
		for i, a := range acc {
			acc[i] = quant.FP32ToFP16(float32(quant.FP16ToFP32(a) * ms))
		}
	}
	for i, a := range acc {
		acc[i] = quant.FP32ToFP16(fma32(quant.FP16ToFP32(v[i]), vs, quant.FP16ToFP32(a)))
	}
}
