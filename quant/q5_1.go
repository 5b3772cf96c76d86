package quant

import "math"

// Q5_1: blocks of 32 elements, 24 bytes:
//
//	offset 0   d   f16        scale
//	offset 2   m   f16        min
//	offset 4   qh  uint32 LE  bit j is the 5th bit of element j
//	offset 8   qs  uint8[16]  element j    = ((qs[j] & 0xF) | bit j of qh << 4)    * d + m   (j < 16)
//	                          element j+16 = ((qs[j] >> 4)  | bit j+16 of qh << 4) * d + m
//
// Dotted with activations in Q8_1.

const blockQ5_1 = 24

// DequantizeRowQ5_1 decodes len(dst)/32 Q5_1 blocks from src.
//
//	src (len(dst)/32 blocks of 24 bytes) -> dst (multiple of 32)
func DequantizeRowQ5_1(src []byte, dst []float32) {
	var q [qk32]int32
	for i := 0; i < len(dst)/qk32; i++ {
		b := src[i*blockQ5_1 : (i+1)*blockQ5_1]
		unpackQ5(b[4:8], b[8:], &q)
		dequantMin(dst[i*qk32:], &q, half(b), half(b[2:]))
	}
}

// QuantizeRowQ5_1 encodes x as Q5_1 into dst, exactly as
// quantize_row_q5_1_ref: m = min, d = (max-min)/31, quants truncated from
// (x-min)/d + 0.5 (ggml does not cap them).
//
//	x (multiple of 32) -> dst (len(x)/32 blocks of 24 bytes)
func QuantizeRowQ5_1(x []float32, dst []byte) {
	var q [qk32]byte
	for i := 0; i < len(x)/qk32; i++ {
		b := dst[i*blockQ5_1 : (i+1)*blockQ5_1]
		d, m := quantMin(x[i*qk32:], 31, math.MaxInt, &q)
		putHalf(b, d)
		putHalf(b[2:], m)
		packQ5(b[4:8], b[8:], &q)
	}
}

// VecDotQ5_1 is ggml_vec_dot_q5_1_q8_1_generic.
//
//	w (n/32 Q5_1 blocks) . a (n/32 Q8_1 blocks) -> float32
func VecDotQ5_1(n int, w, a []byte) float32 {
	var (
		q    [qk32]int32
		sumf float32
	)
	for i := 0; i < n/qk32; i++ {
		x := w[i*blockQ5_1 : (i+1)*blockQ5_1]
		y := a[i*blockQ8_1 : (i+1)*blockQ8_1]
		unpackQ5(x[4:8], x[8:], &q)
		sumf += minBlockTerm(x, y, dotQ8(&q, 0, y[4:]))
	}
	return sumf
}
