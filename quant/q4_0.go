package quant

// Q4_0: blocks of 32 elements, 18 bytes:
//
//	offset 0   d   f16        scale
//	offset 2   qs  uint8[16]  element j    = ((qs[j] & 0xF) - 8) * d   (j < 16)
//	                          element j+16 = ((qs[j] >> 4)  - 8) * d
//
// Dotted with activations in Q8_0.

const blockQ4_0 = 18

// DequantizeRowQ4_0 decodes len(dst)/32 Q4_0 blocks from src.
//
//	src (len(dst)/32 blocks of 18 bytes) -> dst (multiple of 32)
func DequantizeRowQ4_0(src []byte, dst []float32) {
	var q [qk32]int32
	for i := 0; i < len(dst)/qk32; i++ {
		b := src[i*blockQ4_0 : (i+1)*blockQ4_0]
		unpackQ4(b[2:], &q)
		dequantSymmetric(dst[i*qk32:], &q, 8, half(b))
	}
}

// QuantizeRowQ4_0 encodes x as Q4_0 into dst, exactly as
// quantize_row_q4_0_ref: d = -max/8 where max is the element of largest
// magnitude (so it maps to -8 exactly), quants truncated from x/d + 8.5 and
// capped at 15.
//
//	x (multiple of 32) -> dst (len(x)/32 blocks of 18 bytes)
func QuantizeRowQ4_0(x []float32, dst []byte) {
	var q [qk32]byte
	for i := 0; i < len(x)/qk32; i++ {
		b := dst[i*blockQ4_0 : (i+1)*blockQ4_0]
		putHalf(b, quantSymmetric(x[i*qk32:], 8, &q))
		packQ4(b[2:], &q)
	}
}

// VecDotQ4_0 is ggml_vec_dot_q4_0_q8_0_generic.
//
//	w (n/32 Q4_0 blocks) . a (n/32 Q8_0 blocks) -> float32
func VecDotQ4_0(n int, w, a []byte) float32 {
	var (
		q    [qk32]int32
		sumf float32
	)
	for i := 0; i < n/qk32; i++ {
		x := w[i*blockQ4_0 : (i+1)*blockQ4_0]
		y := a[i*blockQ8_0 : (i+1)*blockQ8_0]
		unpackQ4(x[2:], &q)
		sumi := dotQ8(&q, 8, y[2:])
		sumf += float32(float32(sumi) * half(x) * half(y))
	}
	return sumf
}
