package quant

// Q6_K: super-blocks of 256 elements in 16 groups of 16, 210 bytes:
//
//	offset 0    ql      uint8[128]  low 4 bits of the quants
//	offset 128  qh      uint8[64]   high 2 bits of the quants
//	offset 192  scales  int8[16]    signed 8-bit group scales
//	offset 208  d       f16         super-block scale
//
// Element e = 128*h + 32*s + k (h in 0..1, s in 0..3, k in 0..31) has
//
//	low  = s even ? ql[64*h + 32*(s%2) + k] & 0xF : ... >> 4   (byte 64*h + 32*(s%2) + k; nibble s/2)
//	high = (qh[32*h + k] >> 2s) & 3
//
// and is d * scales[e/16] * ((low | high<<4) - 32). Dotted with activations
// in Q8_K.

const blockQ6_K = 210

// q6KQuants unpacks the 256 signed 6-bit quants (-32..31) of a Q6_K block.
func q6KQuants(b []byte, q *[QK_K]int8) {
	ql, qh := b[:128], b[128:192]
	for h := 0; h < 2; h++ {
		for s := 0; s < 4; s++ {
			lbytes := ql[64*h+32*(s%2) : 64*h+32*(s%2)+32]
			hbytes := qh[32*h : 32*h+32]
			nib := uint(s/2) * 4
			for k := 0; k < 32; k++ {
				q[128*h+32*s+k] = int8(lbytes[k]>>nib&0xF|(hbytes[k]>>(2*s)&3)<<4) - 32
			}
		}
	}
}

// unpackQ6_K decodes one Q6_K block: scale, group scales and quants.
func unpackQ6_K(b []byte, sc *[16]int8, q *[QK_K]int8) float32 {
	for g, v := range b[192:208] {
		sc[g] = int8(v)
	}
	q6KQuants(b, q)
	return half(b[208:])
}

// DequantizeRowQ6_K decodes len(dst)/256 Q6_K blocks from src.
//
//	src (len(dst)/256 blocks of 210 bytes) -> dst (multiple of 256)
func DequantizeRowQ6_K(src []byte, dst []float32) {
	var (
		sc [16]int8
		q  [QK_K]int8
	)
	for i := 0; i < len(dst)/QK_K; i++ {
		d := unpackQ6_K(src[i*blockQ6_K:(i+1)*blockQ6_K], &sc, &q)
		dequantGrouped(dst[i*QK_K:], d, &sc, &q)
	}
}

// QuantizeRowQ6_K encodes x as Q6_K into dst, exactly as
// quantize_row_q6_K_ref: make_qx_quants per group of 16 (weights x*x), the
// group scales quantized to int8 against the one of largest magnitude, then
// every quant recomputed from the stored scales. A block whose scales are all
// below 1e-15 is stored as zeros.
//
//	x (multiple of 256) -> dst (len(x)/256 blocks of 210 bytes)
func QuantizeRowQ6_K(x []float32, dst []byte) {
	var (
		L      [QK_K]int8
		scales [16]float32
		sc     [16]int8
	)
	for i := 0; i < len(x)/QK_K; i++ {
		xb := x[i*QK_K : (i+1)*QK_K]
		b := dst[i*blockQ6_K : (i+1)*blockQ6_K]
		for g := range scales {
			scales[g] = makeQXQuants(32, xb[16*g:16*g+16], L[16*g:16*g+16])
		}
		maxScale, maxAbs := largestScale(&scales)
		if maxAbs < groupMaxEps {
			clear(b)
			continue
		}
		iscale := -128 / maxScale
		putHalf(b[208:], 1/iscale)
		for g := range sc {
			sc[g] = int8(min(127, nearestInt(iscale*scales[g])))
			b[192+g] = byte(sc[g])
		}
		requantGroups(xb, &L, half(b[208:]), &sc, 32)
		ql, qh := b[:128], b[128:192]
		for h := 0; h < 2; h++ {
			for k := 0; k < 32; k++ {
				e := 128*h + k
				l0, l1, l2, l3 := uint8(L[e]), uint8(L[e+32]), uint8(L[e+64]), uint8(L[e+96])
				ql[64*h+k] = l0&0xF | l2&0xF<<4
				ql[64*h+32+k] = l1&0xF | l3&0xF<<4
				qh[32*h+k] = l0>>4 | l1>>4<<2 | l2>>4<<4 | l3>>4<<6
			}
		}
	}
}

// VecDotQ6_K is ggml_vec_dot_q6_K_q8_K_generic.
//
//	w (n/256 Q6_K blocks) . a (n/256 Q8_K blocks) -> float32
func VecDotQ6_K(n int, w, a []byte) float32 {
	var s groupedDot
	for i := 0; i < n/QK_K; i++ {
		d := unpackQ6_K(w[i*blockQ6_K:(i+1)*blockQ6_K], &s.sc, &s.q)
		s.addBlock(d, a[i*blockQ8_K:])
	}
	return s.lanes.total(0)
}
