package quant

// Q5_K: super-blocks of 256 elements in 8 sub-blocks of 32, 176 bytes:
//
//	offset 0   d       f16         super-block scale of the sub-block scales
//	offset 2   dmin    f16         super-block scale of the sub-block mins
//	offset 4   scales  uint8[12]   8 6-bit scales and 8 6-bit mins (as Q4_K)
//	offset 16  qh      uint8[32]   5th bits: element 32*j + k uses bit j of qh[k]
//	offset 48  qs      uint8[128]  low 4 bits, laid out as Q4_K's
//
// Element 32*j + k, with sc, m = scaleMinK4(j), is d * sc * q - dmin * m.
// Dotted with activations in Q8_K.

const blockQ5_K = 176

// q5KQuants unpacks the 256 5-bit quants (0..31) of a Q5_K block.
func q5KQuants(b []byte, q *[QK_K]int8) {
	qh, qs := b[16:48], b[48:176]
	for j := 0; j < 8; j++ {
		shift := uint(j%2) * 4
		for k := 0; k < 32; k++ {
			q[32*j+k] = int8(qs[j/2*32+k]>>shift&0xF | (qh[k]>>j&1)<<4)
		}
	}
}

// DequantizeRowQ5_K decodes len(dst)/256 Q5_K blocks from src.
//
//	src (len(dst)/256 blocks of 176 bytes) -> dst (multiple of 256)
func DequantizeRowQ5_K(src []byte, dst []float32) {
	var q [QK_K]int8
	for i := 0; i < len(dst)/QK_K; i++ {
		b := src[i*blockQ5_K : (i+1)*blockQ5_K]
		q5KQuants(b, &q)
		dequantScaleMin(dst[i*QK_K:], b, &q)
	}
}

// QuantizeRowQ5_K encodes x as Q5_K into dst, exactly as
// quantize_row_q5_K_ref (Q4_K's method with 5-bit quants and a shorter scale
// search).
//
//	x (multiple of 256) -> dst (len(x)/256 blocks of 176 bytes)
func QuantizeRowQ5_K(x []float32, dst []byte) {
	var L [QK_K]uint8
	for i := 0; i < len(x)/QK_K; i++ {
		b := dst[i*blockQ5_K : (i+1)*blockQ5_K]
		quantizeKScaleMin(x[i*QK_K:(i+1)*QK_K], b[:2], b[2:4], b[4:16], &L, 31, -0.5, 0.1, 15)
		qh, qs := b[16:48], b[48:176]
		clear(qh)
		for j := 0; j < 8; j++ {
			shift := uint(j%2) * 4
			for k := 0; k < 32; k++ {
				l := L[32*j+k]
				if shift == 0 {
					qs[j/2*32+k] = l & 0xF
				} else {
					qs[j/2*32+k] |= l & 0xF << 4
				}
				qh[k] |= l >> 4 << j
			}
		}
	}
}

// VecDotQ5_K is ggml_vec_dot_q5_K_q8_K_generic.
//
//	w (n/256 Q5_K blocks) . a (n/256 Q8_K blocks) -> float32
func VecDotQ5_K(n int, w, a []byte) float32 {
	var s scaleMinDot
	for i := 0; i < n/QK_K; i++ {
		x := w[i*blockQ5_K : (i+1)*blockQ5_K]
		q5KQuants(x, &s.q)
		s.addBlock(x, a[i*blockQ8_K:])
	}
	return s.total()
}
