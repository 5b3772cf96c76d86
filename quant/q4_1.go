package quant

// Q4_1: blocks of 32 elements, 20 bytes:
//
//	offset 0   d   f16        scale
//	offset 2   m   f16        min
//	offset 4   qs  uint8[16]  element j    = (qs[j] & 0xF) * d + m   (j < 16)
//	                          element j+16 = (qs[j] >> 4)  * d + m
//
// Dotted with activations in Q8_1.

const blockQ4_1 = 20

// DequantizeRowQ4_1 decodes len(dst)/32 Q4_1 blocks from src.
//
//	src (len(dst)/32 blocks of 20 bytes) -> dst (multiple of 32)
func DequantizeRowQ4_1(src []byte, dst []float32) {
	var q [qk32]int32
	for i := 0; i < len(dst)/qk32; i++ {
		b := src[i*blockQ4_1 : (i+1)*blockQ4_1]
		unpackQ4(b[4:], &q)
		dequantMin(dst[i*qk32:], &q, half(b), half(b[2:]))
	}
}

// QuantizeRowQ4_1 encodes x as Q4_1 into dst, exactly as
// quantize_row_q4_1_ref: m = min, d = (max-min)/15, quants truncated from
// (x-min)/d + 0.5 and capped at 15.
//
//	x (multiple of 32) -> dst (len(x)/32 blocks of 20 bytes)
func QuantizeRowQ4_1(x []float32, dst []byte) {
	var q [qk32]byte
	for i := 0; i < len(x)/qk32; i++ {
		b := dst[i*blockQ4_1 : (i+1)*blockQ4_1]
		d, m := quantMin(x[i*qk32:], 15, 15, &q)
		putHalf(b, d)
		putHalf(b[2:], m)
		packQ4(b[4:], &q)
	}
}

// VecDotQ4_1 is ggml_vec_dot_q4_1_q8_1_generic: the min enters once per
// block through the activation block's s = d*sum(qs).
//
//	w (n/32 Q4_1 blocks) . a (n/32 Q8_1 blocks) -> float32
func VecDotQ4_1(n int, w, a []byte) float32 {
	var (
		q    [qk32]int32
		sumf float32
	)
	for i := 0; i < n/qk32; i++ {
		x := w[i*blockQ4_1 : (i+1)*blockQ4_1]
		y := a[i*blockQ8_1 : (i+1)*blockQ8_1]
		unpackQ4(x[4:], &q)
		sumf += minBlockTerm(x, y, dotQ8(&q, 0, y[4:]))
	}
	return sumf
}
