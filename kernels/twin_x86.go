package kernels

import (
	"encoding/binary"
	"math"

	"github.com/qilin-ai/qilin/quant"
)

// Pure-Go twins of llama.cpp's x86 dot products (ggml-cpu's AVX2 vec_dot
// kernels, and the repacked Q4_0/Q4_K kernels it uses for weights with a
// multiple of 8 rows), for the weight formats whose float accumulation the
// AVX2 kernels of this package follow. Integer sums are exact in any order;
// what these fix is where the float roundings happen:
//
//   - lane formats (Q5_0, Q4_1, Q5_1, Q2_K, Q3_K, Q5_K, Q6_K): each block's
//     integer sums are kept in 8 lanes (lane l takes elements 4l..4l+3 of
//     every 32 quants), scaled and added to 8 float32 accumulators by fused
//     multiply-adds, which are reduced as hsum_float_8 does; the formats
//     with a minimum add its term to a separate float32 by fused
//     multiply-adds and that to the lanes' sum at the end;
//   - repacked formats (Q4_0, Q4_K): the dot of one activation row (gemv)
//     scales each block's exact sum once; four activation rows (gemm) scale
//     Q4_K's sums once per pair of 32-quant sub-blocks.

// laneDot accumulates per-block integer lanes into 8 float32 lanes.
type laneDot struct{ acc [8]float32 }

// add adds d*float(lane) to every lane by one fused multiply-add.
func (s *laneDot) add(d float32, lanes *[8]int32) {
	for l, v := range lanes {
		s.acc[l] = fma32(d, float32(v), s.acc[l])
	}
}

// lanes32 adds to lanes[l] the products of elements 4l..4l+3 of the 32
// quants q (times scale sc[e] if sc is non-nil) and activations a.
func lanes32(lanes *[8]int32, q []int32, sc []int32, a []int8) {
	for e := 0; e < 32; e++ {
		p := q[e] * int32(a[e])
		if sc != nil {
			p *= sc[e]
		}
		lanes[e/4] += p
	}
}

// q8KBlock returns the scale, quants and 16-element sums of a Q8_K block.
func q8KBlock(a []byte) (d float32, qs []int8, bsums [16]int32) {
	d = math.Float32frombits(binary.LittleEndian.Uint32(a))
	qs = i8(a[4 : 4+256])
	for g := range bsums {
		bsums[g] = int32(int16(binary.LittleEndian.Uint16(a[260+2*g:])))
	}
	return d, qs, bsums
}

func i8(b []byte) []int8 {
	s := make([]int8, len(b))
	for i, v := range b {
		s[i] = int8(v)
	}
	return s
}

func f16At(b []byte, off int) float32 {
	return quant.FP16ToFP32(binary.LittleEndian.Uint16(b[off:]))
}

// scaleMinK4 decodes the 6-bit scale and min of sub-block j of a Q4_K or
// Q5_K block's 12 packed bytes (ggml's get_scale_min_k4).
func scaleMinK4(j int, q []byte) (sc, m int32) {
	if j < 4 {
		return int32(q[j] & 63), int32(q[j+4] & 63)
	}
	return int32(q[j+4]&0xF | (q[j-4]>>6)<<4), int32(q[j+4]>>4 | (q[j]>>6)<<4)
}

// dotQ32Lanes is the twin of the 32-element formats with signed quants and
// one scale (Q4_0, Q5_0 and Q8_0 in llama.cpp's vec_dot and tinyBLAS):
// lanes of 4 products per block, scaled by d_w*d_a.
func dotQ32Lanes(t quant.Type, n int, w, a []byte) float32 {
	var s laneDot
	bs := t.BlockSize()
	q := make([]int32, 32)
	for b := 0; b < n/32; b++ {
		x, y := w[b*bs:(b+1)*bs], a[34*b:34*b+34]
		q32Values(t, x, q)
		var lanes [8]int32
		lanes32(&lanes, q, nil, i8(y[2:34]))
		s.add(f16At(x, 0)*f16At(y, 0), &lanes)
	}
	return reduceLanes(&s.acc)
}

// q32Values writes the 32 quants of a Q4_0, Q5_0 or Q8_0 block, signed.
func q32Values(t quant.Type, x []byte, q []int32) {
	switch t {
	case quant.Q4_0:
		for j := 0; j < 16; j++ {
			q[j], q[j+16] = int32(x[2+j]&0xF)-8, int32(x[2+j]>>4)-8
		}
	case quant.Q5_0:
		qh := binary.LittleEndian.Uint32(x[2:])
		for j := 0; j < 16; j++ {
			q[j] = int32(x[6+j]&0xF|byte(qh>>j&1)<<4) - 16
			q[j+16] = int32(x[6+j]>>4|byte(qh>>(j+16)&1)<<4) - 16
		}
	case quant.Q8_0:
		for j := 0; j < 32; j++ {
			q[j] = int32(int8(x[2+j]))
		}
	}
}

// dotQ4_0Repacked is the twin of llama.cpp's repacked Q4_0 kernels (gemv
// and gemm alike): acc = fma(float(S_b), d_w*d_a, acc) over the blocks,
// S_b the block's exact integer dot.
func dotQ4_0Repacked(n int, w, a []byte, _ []float32) float32 {
	var acc float32
	q := make([]int32, 32)
	for b := 0; b < n/32; b++ {
		x, y := w[18*b:18*b+18], a[34*b:34*b+34]
		q32Values(quant.Q4_0, x, q)
		var s int32
		for j, v := range i8(y[2:34]) {
			s += q[j] * int32(v)
		}
		acc = fma32(float32(s), f16At(x, 0)*f16At(y, 0), acc)
	}
	return acc
}

// dotQ1Lanes is the twin of Q4_1 and Q5_1 x Q8_1: lanes of 4 unsigned-quant
// products scaled by d_w*d_a, and the minimum's m_w*s_a summed apart.
func dotQ1Lanes(t quant.Type, n int, w, a []byte) float32 {
	var s laneDot
	var summs float32
	bs := t.BlockSize()
	q := make([]int32, 32)
	for b := 0; b < n/32; b++ {
		x, y := w[b*bs:(b+1)*bs], a[36*b:36*b+36]
		qs := x[4:]
		var qh uint32
		if t == quant.Q5_1 {
			qh, qs = binary.LittleEndian.Uint32(x[4:]), x[8:]
		}
		for j := 0; j < 16; j++ {
			q[j] = int32(qs[j]&0xF | byte(qh>>j&1)<<4)
			q[j+16] = int32(qs[j]>>4 | byte(qh>>(j+16)&1)<<4)
		}
		summs = fma32(f16At(x, 2), f16At(y, 2), summs)
		var lanes [8]int32
		lanes32(&lanes, q, nil, i8(y[4:36]))
		s.add(f16At(x, 0)*f16At(y, 0), &lanes)
	}
	return reduceLanes(&s.acc) + summs
}

// kQuants writes the 256 quants of a K-quant block as the x86 kernels
// multiply them (Q2_K 0..3, Q3_K -4..3, Q5_K 0..31, Q6_K 0..63 without the
// -32 offset) and each element's integer scale.
func kQuants(t quant.Type, x []byte, q, sc []int32) {
	switch t {
	case quant.Q2_K:
		for c := 0; c < 8; c++ {
			qs, sh := x[16+32*(c/4):], 2*(c%4)
			for e := 0; e < 32; e++ {
				q[32*c+e] = int32(qs[e] >> sh & 3)
				sc[32*c+e] = int32(x[2*c+e/16] & 0xF)
			}
		}
	case quant.Q3_K:
		var scales [16]int32
		a := x[96:108]
		for i := 0; i < 16; i++ {
			var v byte
			if i < 8 {
				v = a[i] & 0xF
			} else {
				v = a[i-8] >> 4
			}
			v |= (a[8+i%4] >> (2 * (i / 4)) & 3) << 4
			scales[i] = int32(v) - 32
		}
		for c := 0; c < 8; c++ {
			qs, sh := x[32+32*(c/4):], 2*(c%4)
			for e := 0; e < 32; e++ {
				v := int32(qs[e] >> sh & 3)
				if x[e]>>c&1 == 0 {
					v -= 4
				}
				q[32*c+e] = v
				sc[32*c+e] = scales[2*c+e/16]
			}
		}
	case quant.Q5_K:
		for c := 0; c < 8; c++ {
			s, _ := scaleMinK4(c, x[4:16])
			for e := 0; e < 32; e++ {
				v := int32(x[48+32*(c/2)+e] >> (4 * (c % 2)) & 0xF)
				v |= int32(x[16+e]>>c&1) << 4
				q[32*c+e], sc[32*c+e] = v, s
			}
		}
	case quant.Q6_K:
		for h := 0; h < 2; h++ {
			ql, qh := x[64*h:], x[128+32*h:]
			for l := 0; l < 32; l++ {
				base := 128 * h
				q[base+l] = int32(ql[l]&0xF | (qh[l]&3)<<4)
				q[base+32+l] = int32(ql[l+32]&0xF | (qh[l]>>2&3)<<4)
				q[base+64+l] = int32(ql[l]>>4 | (qh[l]>>4&3)<<4)
				q[base+96+l] = int32(ql[l+32]>>4 | (qh[l]>>6&3)<<4)
			}
		}
		for e := 0; e < 256; e++ {
			sc[e] = int32(int8(x[192+e/16]))
		}
	}
}

// dotKLanes is the twin of Q2_K, Q3_K, Q5_K and Q6_K x Q8_K in llama.cpp's
// AVX2 vec_dot: per block the 8 integer lanes, times d_a*d_w into the float
// lanes; Q2_K first adds its minimum's lanes times -d_a*dmin_w, Q5_K sums
// its minimum's total times -d_a*dmin_w apart, Q6_K folds its -32 offset
// into the lanes through the activations' 16-element sums.
func dotKLanes(t quant.Type, n int, w, a []byte) float32 {
	var s laneDot
	var summs float32
	bs := t.BlockSize()
	q, sc := make([]int32, 256), make([]int32, 256)
	for b := 0; b < n/256; b++ {
		x := w[b*bs : (b+1)*bs]
		da, qa, bsums := q8KBlock(a[292*b : 292*b+292])
		kQuants(t, x, q, sc)
		var lanes [8]int32
		for c := 0; c < 8; c++ {
			lanes32(&lanes, q[32*c:32*c+32], sc[32*c:32*c+32], qa[32*c:32*c+32])
		}
		var dw float32
		switch t {
		case quant.Q2_K:
			dw = f16At(x, 80)
			var mins [8]int32
			for l := range mins {
				mins[l] = int32(x[2*l]>>4)*bsums[2*l] + int32(x[2*l+1]>>4)*bsums[2*l+1]
			}
			s.add(-da*f16At(x, 82), &mins)
		case quant.Q3_K:
			dw = f16At(x, 108)
		case quant.Q5_K:
			dw = f16At(x, 0)
			var m int32
			for j := 0; j < 8; j++ {
				_, mj := scaleMinK4(j, x[4:16])
				m += mj * (bsums[2*j] + bsums[2*j+1])
			}
			summs = fma32(float32(m), -da*f16At(x, 2), summs)
		case quant.Q6_K:
			dw = f16At(x, 208)
			for l := range lanes {
				lanes[l] -= 32 * (sc[32*l]*bsums[2*l] + sc[32*l+16]*bsums[2*l+1])
			}
		}
		s.add(da*dw, &lanes)
	}
	return reduceLanes(&s.acc) + summs
}

// q4KSums returns a Q4_K block's exact integer sums per 32-quant sub-block:
// the quants' dot with the activations times the sub-block scale, and the
// sub-block min times the activations' sum.
func q4KSums(x []byte, qa []int8, bsums *[16]int32) (sums, mins [8]int32) {
	for j := 0; j < 8; j++ {
		sc, m := scaleMinK4(j, x[4:16])
		var s int32
		for e := 0; e < 32; e++ {
			s += int32(x[16+32*(j/2)+e]>>(4*(j%2))&0xF) * int32(qa[32*j+e])
		}
		sums[j], mins[j] = s*sc, m*(bsums[2*j]+bsums[2*j+1])
	}
	return sums, mins
}

// dotQ4_KRepacked is the twin of llama.cpp's repacked Q4_K kernels: per
// block, [acc, accm] += [S, M] * [d_w, dmin_w]*d_a by fused multiply-adds,
// with S and M the sums of groups of sub-blocks (all 8 for the one-row
// gemv, pairs for the four-row gemm), and acc - accm.
func dotQ4_KRepacked(n int, w, a []byte, group int) float32 {
	var acc, accm float32
	for b := 0; b < n/256; b++ {
		x := w[144*b : 144*b+144]
		da, qa, bsums := q8KBlock(a[292*b : 292*b+292])
		sums, mins := q4KSums(x, qa, &bsums)
		repackedScale(&acc, &accm, sums[:], mins[:], f16At(x, 0)*da, f16At(x, 2)*da, group)
	}
	return acc - accm
}

// repackedScale adds the sums and mins of a block, group sub-blocks at a
// time, to acc and accm: acc = fma(float(S), d, acc), accm = fma(float(M),
// dmin, accm) per group, as llama.cpp's repacked K-quant kernels do.
func repackedScale(acc, accm *float32, sums, mins []int32, d, dmin float32, group int) {
	for g := 0; g < len(sums); g += group {
		var s, m int32
		for j := g; j < g+group; j++ {
			s, m = s+sums[j], m+mins[j]
		}
		*acc = fma32(float32(s), d, *acc)
		*accm = fma32(float32(m), dmin, *accm)
	}
}

// dotQ4_KLanes is the twin of ggml's AVX2 vec_dot for Q4_K, which llama.cpp
// uses for weights it does not repack (a number of rows that is not a
// multiple of 8): the sums' 8 lanes times d_a*d_w into float lanes, the
// mins' 4 pair sums times -d_a*dmin_w into 4 more, reduced as (m0+m2) +
// (m1+m3) and added last.
func dotQ4_KLanes(n int, w, a []byte) float32 {
	var s laneDot
	var accm [4]float32
	for b := 0; b < n/256; b++ {
		x, ab := w[144*b:144*b+144], a[292*b:292*b+292]
		da := math.Float32frombits(binary.LittleEndian.Uint32(ab))
		qa := ab[4 : 4+256]
		var lanes [8]int32
		for j := 0; j < 8; j++ {
			sc, _ := scaleMinK4(j, x[4:16])
			qs, sh, aj := x[16+32*(j/2):16+32*(j/2)+32], 4*(j%2), qa[32*j:32*j+32]
			for l := 0; l < 8; l++ {
				var p int32
				for e := 4 * l; e < 4*l+4; e++ {
					p += int32(qs[e]>>sh&0xF) * int32(int8(aj[e]))
				}
				lanes[l] += p * sc // integer sums: exact in any order
			}
		}
		dmin := -da * f16At(x, 2)
		for k := range accm {
			_, m0 := scaleMinK4(2*k, x[4:16])
			_, m1 := scaleMinK4(2*k+1, x[4:16])
			p := m0*(bsum(ab, 4*k)+bsum(ab, 4*k+1)) + m1*(bsum(ab, 4*k+2)+bsum(ab, 4*k+3))
			accm[k] = fma32(dmin, float32(p), accm[k])
		}
		s.add(da*f16At(x, 0), &lanes)
	}
	return reduceLanes(&s.acc) + ((accm[0] + accm[2]) + (accm[1] + accm[3]))
}

// bsum is the sum of the 16 quants g*16..g*16+15 of a Q8_K block.
func bsum(a []byte, g int) int32 { return int32(int16(binary.LittleEndian.Uint16(a[260+2*g:]))) }

// plainDot returns the dot of weights of type t that llama.cpp leaves
// unrepacked (rows not a multiple of 8), for the types its AVX-512 build
// otherwise repacks (Q4_0, Q4_K, Q2_K); ok is false for the others, whose
// arithmetic does not depend on it.
func plainDot(t quant.Type) (k dotKernel, ok bool) {
	switch t {
	case quant.Q4_0:
		return dotKernel{one: func(n int, w, a []byte, _ []float32) float32 { return dotQ32Lanes(quant.Q4_0, n, w, a) }}, true
	case quant.Q4_K:
		return dotKernel{one: func(n int, w, a []byte, _ []float32) float32 { return dotQ4_KLanes(n, w, a) }}, true
	case quant.Q2_K:
		return dotKernel{one: func(n int, w, a []byte, _ []float32) float32 { return dotKLanes(quant.Q2_K, n, w, a) }}, true
	}
	return dotKernel{}, false
}

// dotQ2_KRepacked is the twin of the repacked Q2_K kernels of llama.cpp's
// AVX-512 build (which repacks Q2_K only there): as dotQ4_KRepacked, with
// the sums of 16-element sub-blocks taken whole per block for the one-row
// gemv (group 16) and per half block for the four-row gemm (group 8).
func dotQ2_KRepacked(n int, w, a []byte, group int) float32 {
	var acc, accm float32
	for b := 0; b < n/256; b++ {
		x := w[84*b : 84*b+84]
		da, qa, bsums := q8KBlock(a[292*b : 292*b+292])
		var sums, mins [16]int32
		for c := 0; c < 8; c++ {
			qs, sh := x[16+32*(c/4):], 2*(c%4)
			for e := 0; e < 32; e++ {
				sums[2*c+e/16] += int32(qs[e]>>sh&3) * int32(qa[32*c+e])
			}
		}
		for g := range sums {
			sums[g] *= int32(x[g] & 0xF)
			mins[g] = int32(x[g]>>4) * bsums[g]
		}
		repackedScale(&acc, &accm, sums[:], mins[:], f16At(x, 80)*da, f16At(x, 82)*da, group)
	}
	return acc - accm
}
