package quant

// Q4_K: super-blocks of 256 elements in 8 sub-blocks of 32, 144 bytes:
//
//	offset 0   d       f16         super-block scale of the sub-block scales
//	offset 2   dmin    f16         super-block scale of the sub-block mins
//	offset 4   scales  uint8[12]   8 6-bit scales and 8 6-bit mins (see scaleMinK4)
//	offset 16  qs      uint8[128]  4-bit quants: sub-blocks 2p and 2p+1 share bytes 32p..32p+31,
//	                               2p in the low nibbles, 2p+1 in the high nibbles
//
// Element 32*j + k (sub-block j, k in 0..31), with sc, m = scaleMinK4(j), is
//
//	d * sc * q - dmin * m
//
// Dotted with activations in Q8_K.

const blockQ4_K = 144

// q4KQuants unpacks the 256 4-bit quants (0..15) of a Q4_K block.
func q4KQuants(b []byte, q *[QK_K]int8) {
	qs := b[16:144]
	for p := 0; p < 4; p++ {
		for k, v := range qs[32*p : 32*p+32] {
			q[64*p+k] = int8(v & 0xF)
			q[64*p+32+k] = int8(v >> 4)
		}
	}
}

// DequantizeRowQ4_K decodes len(dst)/256 Q4_K blocks from src.
//
//	src (len(dst)/256 blocks of 144 bytes) -> dst (multiple of 256)
func DequantizeRowQ4_K(src []byte, dst []float32) {
	var q [QK_K]int8
	for i := 0; i < len(dst)/QK_K; i++ {
		b := src[i*blockQ4_K : (i+1)*blockQ4_K]
		q4KQuants(b, &q)
		dequantScaleMin(dst[i*QK_K:], b, &q)
	}
}

// QuantizeRowQ4_K encodes x as Q4_K into dst, exactly as
// quantize_row_q4_K_ref: make_qkx2_quants per sub-block of 32 (weights
// rms + |x|), scales and mins quantized to 6 bits against their maxima, then
// every quant recomputed from the stored scales.
//
//	x (multiple of 256) -> dst (len(x)/256 blocks of 144 bytes)
func QuantizeRowQ4_K(x []float32, dst []byte) {
	var L [QK_K]uint8
	for i := 0; i < len(x)/QK_K; i++ {
		b := dst[i*blockQ4_K : (i+1)*blockQ4_K]
		quantizeKScaleMin(x[i*QK_K:(i+1)*QK_K], b[:2], b[2:4], b[4:16], &L, 15, -1, 0.1, 20)
		qs := b[16:144]
		for p := 0; p < 4; p++ {
			for k := 0; k < 32; k++ {
				qs[32*p+k] = L[64*p+k] | L[64*p+32+k]<<4
			}
		}
	}
}

// VecDotQ4_K is ggml_vec_dot_q4_K_q8_K_generic.
//
//	w (n/256 Q4_K blocks) . a (n/256 Q8_K blocks) -> float32
func VecDotQ4_K(n int, w, a []byte) float32 {
	var s scaleMinDot
	for i := 0; i < n/QK_K; i++ {
		x := w[i*blockQ4_K : (i+1)*blockQ4_K]
		q4KQuants(x, &s.q)
		s.addBlock(x, a[i*blockQ8_K:])
	}
	return s.total()
}
