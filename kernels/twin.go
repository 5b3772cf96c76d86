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
// finite results). a*b is exact in float64; the float64 sum is corrected
// with its exact rounding error where rounding it again to float32 would
// land on the wrong side of a halfway point.
func fma32(a, b, c float32) float32 {
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
		for l := range acc {
			var s int32
			for k := 2 + 4*l; k < 6+4*l; k++ {
				s += int32(int8(x[k])) * int32(int8(y[k]))
			}
			acc[l] = fma32(float32(s), d, acc[l])
		}
	}
	return ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]))
}
