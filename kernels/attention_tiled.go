package kernels

import (
	"math"

	"github.com/qilin-ai/qilin/quant"
)

// AttnTileRows is the number of query rows in a batch from which llama.cpp's
// CPU flash attention switches to its tiled float32 path
// (ggml_compute_forward_flash_attn_ext_tiled; GGML_FA_TILE_Q). A batch of at
// least this many tokens is attended with AttentionBlockTiled, a smaller one
// (and decode) with AttentionHead.
const AttnTileRows = 64

// attnTileKV is the number of cache positions per tile (GGML_FA_TILE_KV).
const attnTileKV = 64

// AttentionTiled reports whether llama.cpp attends a batch of nQueries query
// rows with value heads of hv elements by its tiled path (which its AVX-512
// build takes only when hv is a multiple of 16).
func AttentionTiled(nQueries, hv int) bool { return nQueries >= AttnTileRows && hv%16 == 0 }

// AttentionBlockTiled computes causal attention for rows (at most
// AttnTileRows) consecutive query rows of one head and one sequence:
//
//	row r: q[r*qStride:][:hk] at position pos0+r, over K rows k[j*kStride:][:hk]
//	and V rows v[j*vStride:][:hv] for j <= pos0+r -> out[r*oStride:][:hv]
//
// with the arithmetic of llama.cpp's tiled flash attention (attentionHeadTiled
// is its specification for one row): positions in tiles of 64 from position
// 0; per tile the scores (the float32 query, not rounded to f16, dotted with
// each key by a chain of fused multiply-adds over the head) times scale, the
// running maximum raised to the tile's (the float32 accumulator and the
// denominator rescaled by glibc's expf), the tile's weights by ggml_v_expf
// with their sum taken in float64 per 16, and the values added to the
// float32 accumulator by chains of fused multiply-adds over the tile's
// positions; at the end the accumulator times 1/sum. Each tile of keys and
// values is converted to float32 once for all the rows, as llama.cpp does.
func AttentionBlockTiled(out []float32, oStride int, q []float32, qStride int, rows, pos0 int, k []uint16, kStride int, v []uint16, vStride int, scale float32, s *AttnScratch) {
	attentionBlockTiled(active, out, oStride, q, qStride, rows, pos0, k, kStride, v, vStride, scale, s)
}

func attentionBlockTiled(ks *kernelSet, out []float32, oStride int, q []float32, qStride int, rows, pos0 int, k []uint16, kStride int, v []uint16, vStride int, scale float32, s *AttnScratch) {
	hk, hv := len(s.q), len(s.acc)
	if rows > AttnTileRows {
		panic("kernels: AttentionBlockTiled: more rows than a tile")
	}
	m, sum, acc := s.tm[:rows], s.tsum[:rows], s.tacc[:rows*hv]
	for r := range m {
		m[r], sum[r] = float32(math.Inf(-1)), 0
	}
	clear(acc)
	kt, vt, kq := s.kt[:hk*attnTileKV], s.vt[:attnTileKV*hv], s.s[:attnTileKV]
	n := pos0 + rows // positions of the last row
	for t0 := 0; t0 < n; t0 += attnTileKV {
		b := min(attnTileKV, n-t0)
		ks.tileLoad(kt, vt, k[t0*kStride:], kStride, v[t0*vStride:], vStride, hk, hv, b)
		for r := max(0, t0-pos0); r < rows; r++ {
			valid := min(b, pos0+r+1-t0) // positions of this tile the row sees
			ks.tileScores(kq, q[r*qStride:r*qStride+hk], kt, scale)
			for j := valid; j < attnTileKV; j++ {
				kq[j] = float32(math.Inf(-1))
			}
			tmax := float32(math.Inf(-1))
			for _, x := range kq {
				if x > tmax {
					tmax = x
				}
			}
			a := acc[r*hv : (r+1)*hv]
			if mnew := max(m[r], tmax); mnew > m[r] {
				ms := expf(m[r] - mnew)
				for d := range a {
					a[d] *= ms
				}
				sum[r] *= ms
				m[r] = mnew
			}
			sum[r] = float32(float64(sum[r]) + ks.tileWeights(kq, m[r]))
			ks.tileAccum(a, vt, kq[:valid])
		}
	}
	for r := 0; r < rows; r++ {
		inv := float32(0)
		if sum[r] != 0 {
			inv = 1 / sum[r]
		}
		o := out[r*oStride : r*oStride+hv]
		for d, x := range acc[r*hv : (r+1)*hv] {
			o[d] = x * inv
		}
	}
}

// attentionHeadTiled is llama.cpp's tiled flash attention for one query row
// at position n-1, written directly from ggml's loop (scores, mask, maximum,
// softmax, value GEMM per tile): the specification AttentionBlockTiled
// reproduces.
func attentionHeadTiled(out, q []float32, k []uint16, kStride int, v []uint16, vStride int, n int, scale float32) {
	hv := len(out)
	acc := make([]float32, hv)
	kq := make([]float32, attnTileKV)
	var sum float32
	m := float32(math.Inf(-1))
	for t0 := 0; t0 < n; t0 += attnTileKV {
		b := min(attnTileKV, n-t0)
		for j := range kq {
			kq[j] = float32(math.Inf(-1))
			if j < b {
				var a float32
				for d, x := range q {
					a = fma32(x, quant.FP16ToFP32(k[(t0+j)*kStride+d]), a)
				}
				kq[j] = a * scale
			}
		}
		tmax := float32(math.Inf(-1))
		for _, x := range kq {
			tmax = max(tmax, x)
		}
		if mnew := max(m, tmax); mnew > m {
			ms := expf(m - mnew)
			for d := range acc {
				acc[d] *= ms
			}
			sum *= ms
			m = mnew
		}
		sum = float32(float64(sum) + tileWeightsGo(kq, m))
		for j := 0; j < b; j++ {
			for d := range acc {
				acc[d] = fma32(kq[j], quant.FP16ToFP32(v[(t0+j)*vStride+d]), acc[d])
			}
		}
	}
	inv := float32(0)
	if sum != 0 {
		inv = 1 / sum
	}
	for d, a := range acc {
		out[d] = a * inv
	}
}

// tileLoadGo converts the b keys and values of a tile to float32: keys
// transposed into kt (element d of key j at kt[d*64+j]), values as rows of
// hv in vt; the rest of the tile is left as it was (zero weights read it).
func tileLoadGo(kt, vt []float32, k []uint16, kStride int, v []uint16, vStride int, hk, hv, b int) {
	for j := 0; j < b; j++ {
		for d := 0; d < hk; d++ {
			kt[d*attnTileKV+j] = quant.FP16ToFP32(k[j*kStride+d])
		}
		for d := 0; d < hv; d++ {
			vt[j*hv+d] = quant.FP16ToFP32(v[j*vStride+d])
		}
	}
}

// tileScoresGo writes s[j] (64 of them) = the fused multiply-add chain of q
// with key j of the transposed tile kt (from 0, in element order), times
// scale.
func tileScoresGo(s, q, kt []float32, scale float32) {
	s = s[:attnTileKV]
	for j := range s {
		var a float32
		for d, x := range q {
			a = fma32(x, kt[d*attnTileKV+j], a)
		}
		s[j] = a * scale
	}
}

// tileWeightsGo replaces the 64 scores x by vExpf(x - m) and returns their
// sum as ggml_vec_soft_max_f32 takes it: each 16 reduced in float32 by
// halves (_mm512_reduce_add_ps), the four added in float64.
func tileWeightsGo(x []float32, m float32) float64 {
	x = x[:attnTileKV]
	for i, v := range x {
		x[i] = vExpf(v - m)
	}
	return tileSum(x)
}

// tileSum is the sum of the 64 weights as ggml_vec_soft_max_f32 takes it.
func tileSum(x []float32) float64 {
	var sum float64
	for g := 0; g < attnTileKV; g += 16 {
		var l [16]float32
		copy(l[:], x[g:g+16])
		for w := 8; w >= 1; w /= 2 {
			for i := 0; i < w; i++ {
				l[i] += l[i+w]
			}
		}
		sum += float64(l[0])
	}
	return sum
}

// tileAccumGo adds the weighted values of a tile to the float32 accumulator:
// acc[d] = fma(e[j], vt[j*hv+d], acc[d]) for j in order.
func tileAccumGo(acc, vt, e []float32) {
	hv := len(acc)
	for j, w := range e {
		vj := vt[j*hv : (j+1)*hv]
		for d, a := range acc {
			acc[d] = fma32(vj[d], w, a)
		}
	}
}
