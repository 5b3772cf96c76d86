package kernels

import (
	"encoding/binary"
	"math"

	"github.com/qilin-ai/qilin/quant"
)

// Pure-Go twins that reproduce a SIMD kernel's float accumulation exactly,
// for the formats where the reference logits are sensitive to it: with them
// the generic build computes the same bits as the AVX2 build.

// fma32 returns a*b+c rounded once to float32, as VFMADD231PS/SS do (for
// finite results). math.FMA rounds the exact a*b+c once to float64;
// rounding that again to float32 is rounding once, unless the float64
// lies exactly halfway between two float32 values (or in float32's
// subnormal range), where fma32Slow decides.
func fma32(a, b, c float32) float32 {
	s := math.FMA(float64(a), float64(b), float64(c))
	if math.Float64bits(s)&(1<<29-1) != 1<<28 && math.Abs(s) >= 0x1p-126 {
		return float32(s)
	}
	return fma32Slow(a, b, c)
}

// fma32Slow is fma32 by exact arithmetic: a*b is exact in float64; the
// float64 sum is corrected with its exact rounding error where rounding it
// again to float32 would land on the wrong side of a halfway point.
func fma32Slow(a, b, c float32) float32 {
	p := float64(a) * float64(b)
	s := p + float64(c)
	r := float32(s)
	z := s - p
	e := (p - (s - z)) + (float64(c) - z) // p + c = s + e exactly
	f := float64(r)
	if e == 0 || f == s || math.IsInf(s, 0) || math.IsNaN(s) {
		return r
	}
	other := math.Nextafter32(r, float32(math.Inf(1)))
	if f > s {
		other = math.Nextafter32(r, float32(math.Inf(-1)))
	}
	if s != (f+float64(other))/2 {
		return r // not a halfway case: rounding twice is rounding once
	}
	if (e > 0) == (float64(other) > f) {
		return other
	}
	return r
}

// dotQ8_0Lanes is the twin of dotQ8_0x1AVX2: per block the exact integer
// sums of the 8 groups of 4 products, each added to its float32 lane by one
// fused multiply-add with d_w*d_a, the lanes reduced as hsumTo does. It is
// llama.cpp's x86 order, which its reference logits follow.
//
//	w (n/32 Q8_0 blocks) . a (n/32 Q8_0 blocks) -> float32
func dotQ8_0Lanes(n int, w, a []byte, _ []float32) float32 {
	var acc [8]float32
	for b := 0; b < n/32; b++ {
		x, y := w[34*b:34*b+34], a[34*b:34*b+34]
		d := quant.FP16ToFP32(binary.LittleEndian.Uint16(x)) * quant.FP16ToFP32(binary.LittleEndian.Uint16(y))
		laneFMA(&acc, x[2:], y[2:], d)
	}
	return reduceLanes(&acc)
}

// laneFMA adds one block of 32 signed bytes w . a to the eight lanes: lane l
// gets the exact sum of products 4l..4l+3, times d, by one fused
// multiply-add.
func laneFMA(acc *[8]float32, w, a []byte, d float32) {
	w, a = w[:32], a[:32]
	for l := range acc {
		var s int32
		for k := 4 * l; k < 4*l+4; k++ {
			s += int32(int8(w[k])) * int32(int8(a[k]))
		}
		acc[l] = fma32(float32(s), d, acc[l])
	}
}

// reduceLanes sums the lanes in hsumTo's order.
func reduceLanes(acc *[8]float32) float32 {
	return ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]))
}

// repackGo is the twin of the repacking kernels: rows w0 and w1 of weight
// type t (Q8_0 or Q5_0), n elements each, to the pair layout in dst: per
// block of 32, row 0's quants as signed bytes (q-16 for Q5_0), row 1's,
// then the two scales as float32.
func repackGo(t quant.Type, n int, w0, w1, dst []byte) {
	bs := t.BlockSize()
	for b := 0; b < n/32; b++ {
		out := dst[b*pairBlock : (b+1)*pairBlock]
		for r, w := range [][]byte{w0, w1} {
			blk := w[b*bs : (b+1)*bs]
			q := out[32*r : 32*r+32]
			switch t {
			case quant.Q8_0:
				copy(q, blk[2:34])
			case quant.Q5_0:
				qh := binary.LittleEndian.Uint32(blk[2:])
				for j := 0; j < 16; j++ {
					lo := blk[6+j]&0x0F | byte(qh>>j&1)<<4
					hi := blk[6+j]>>4 | byte(qh>>(j+16)&1)<<4
					q[j], q[j+16] = lo-16, hi-16
				}
			default:
				panic("kernels: no repacking for " + t.String())
			}
			d := quant.FP16ToFP32(binary.LittleEndian.Uint16(blk))
			binary.LittleEndian.PutUint32(out[64+4*r:], math.Float32bits(d))
		}
	}
}

// dotLanes2x4Go is the twin of dotLanes2x4AVX2 (tileKernel.run): the dots
// of pairs repacked row pairs with four Q8_0 activation rows, each in the
// lane order of dotQ8_0Lanes.
func dotLanes2x4Go(n int, w []byte, pairs int, a []byte, stride int, ad []float32, adStride int, out []float32, ostride int) {
	nb, pb := n/32, tileBytes(n)
	for p := 0; p < pairs; p++ {
		for r := 0; r < 2; r++ {
			for t := 0; t < 4; t++ {
				var acc [8]float32
				for b := 0; b < nb; b++ {
					blk := w[p*pb+b*pairBlock:]
					dw := math.Float32frombits(binary.LittleEndian.Uint32(blk[64+4*r:]))
					laneFMA(&acc, blk[32*r:], a[t*stride+34*b+2:], dw*ad[t*adStride+b])
				}
				out[t*ostride+2*p+r] = reduceLanes(&acc)
			}
		}
	}
}
