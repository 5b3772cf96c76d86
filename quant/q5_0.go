package quant

// Q5_0: blocks of 32 elements, 22 bytes:
//
//	offset 0   d   f16        scale
//	offset 2   qh  uint32 LE  bit j is the 5th bit of element j
//	offset 6   qs  uint8[16]  element j    = ((qs[j] & 0xF) | bit j of qh << 4)    - 16) * d   (j < 16)
//	                          element j+16 = ((qs[j] >> 4)  | bit j+16 of qh << 4) - 16) * d
//
// Dotted with activations in Q8_0.

const blockQ5_0 = 22

// DequantizeRowQ5_0 decodes len(dst)/32 Q5_0 blocks from src.
//
//	src (len(dst)/32 blocks of 22 bytes) -> dst (multiple of 32)
func DequantizeRowQ5_0(src []byte, dst []float32) {
	var q [qk32]int32
	for i := 0; i < len(dst)/qk32; i++ {
		b := src[i*blockQ5_0 : (i+1)*blockQ5_0]
		unpackQ5(b[2:6], b[6:], &q)
		dequantSymmetric(dst[i*qk32:], &q, 16, half(b))
	}
}

// QuantizeRowQ5_0 encodes x as Q5_0 into dst, exactly as
// quantize_row_q5_0_ref: d = -max/16 for the element of largest magnitude,
// quants truncated from x/d + 16.5 and capped at 31.
//
//	x (multiple of 32) -> dst (len(x)/32 blocks of 22 bytes)
func QuantizeRowQ5_0(x []float32, dst []byte) {
	var q [qk32]byte
	for i := 0; i < len(x)/qk32; i++ {
		b := dst[i*blockQ5_0 : (i+1)*blockQ5_0]
		putHalf(b, quantSymmetric(x[i*qk32:], 16, &q))
		packQ5(b[2:6], b[6:], &q)
	}
}

// VecDotQ5_0 is ggml_vec_dot_q5_0_q8_0_generic.
//
//	w (n/32 Q5_0 blocks) . a (n/32 Q8_0 blocks) -> float32
func VecDotQ5_0(n int, w, a []byte) float32 {
	var (
		q    [qk32]int32
		sumf float32
	)
	for i := 0; i < n/qk32; i++ {
		x := w[i*blockQ5_0 : (i+1)*blockQ5_0]
		y := a[i*blockQ8_0 : (i+1)*blockQ8_0]
		unpackQ5(x[2:6], x[6:], &q)
		sumi := dotQ8(&q, 16, y[2:])
		sumf += float32(float32(half(x)*half(y)) * float32(sumi))
	}
	return sumf
}
