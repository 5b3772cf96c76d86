package quant

// Q3_K: super-blocks of 256 elements in 16 groups of 16, 110 bytes:
//
//	offset 0    hmask   uint8[32]  high bit of each quant: element e uses bit e/32 of hmask[e%32]
//	offset 32   qs      uint8[64]  low 2 bits, packed as Q2_K's (byte 32*h + k, bits 2s..2s+1)
//	offset 96   scales  uint8[12]  16 6-bit group scales, stored +32:
//	                               low 4 bits of group g: g < 8 ? scales[g] & 0xF : scales[g-8] >> 4
//	                               high 2 bits:           (scales[8 + g%4] >> 2*(g/4)) & 3
//	offset 108  d       f16        super-block scale
//
// Element e = 128*h + 32*s + k (h in 0..1, s in 0..3, k in 0..31) is
//
//	d * (scale[e/16] - 32) * (((qs[32*h + k] >> 2s) & 3) - (high bit set ? 0 : 4))
//
// Dotted with activations in Q8_K.

const blockQ3_K = 110

// q3Scales unpacks the 16 signed group scales (already minus 32).
func q3Scales(p []byte, sc *[16]int8) {
	p = p[:12]
	for g := range sc {
		var lo byte
		if g < 8 {
			lo = p[g] & 0xF
		} else {
			lo = p[g-8] >> 4
		}
		hi := p[8+g%4] >> (2 * (g / 4)) & 3
		sc[g] = int8(lo|hi<<4) - 32
	}
}

// q3Quants unpacks the 256 signed 3-bit quants (-4..3) of a Q3_K block.
func q3Quants(b []byte, q *[QK_K]int8) {
	hmask, qs := b[:32:32], b[32:96:96]
	for h := 0; h < 2; h++ {
		qb := qs[32*h : 32*h+32]
		for s := 0; s < 4; s++ {
			shift, bit := uint(2*s), uint(4*h+s)
			out := q[128*h+32*s : 128*h+32*s+32]
			for k, v := range qb {
				// subtract 4 where the high bit is clear
				out[k] = int8(v>>shift&3) - int8((^hmask[k]>>bit)&1)<<2
			}
		}
	}
}

// unpackQ3_K decodes one Q3_K block: scale, group scales and quants.
func unpackQ3_K(b []byte, sc *[16]int8, q *[QK_K]int8) float32 {
	q3Scales(b[96:108], sc)
	q3Quants(b, q)
	return half(b[108:])
}

// DequantizeRowQ3_K decodes len(dst)/256 Q3_K blocks from src.
//
//	src (len(dst)/256 blocks of 110 bytes) -> dst (multiple of 256)
func DequantizeRowQ3_K(src []byte, dst []float32) {
	var (
		sc [16]int8
		q  [QK_K]int8
	)
	for i := 0; i < len(dst)/QK_K; i++ {
		d := unpackQ3_K(src[i*blockQ3_K:(i+1)*blockQ3_K], &sc, &q)
		dequantGrouped(dst[i*QK_K:], d, &sc, &q)
	}
}

// QuantizeRowQ3_K encodes x as Q3_K into dst, exactly as
// quantize_row_q3_K_ref: make_q3_quants per group of 16, the group scales
// quantized to 6 bits against the one of largest magnitude, then every quant
// recomputed from the stored scales.
//
//	x (multiple of 256) -> dst (len(x)/256 blocks of 110 bytes)
func QuantizeRowQ3_K(x []float32, dst []byte) {
	var (
		L      [QK_K]int8
		scales [16]float32
		sc     [16]int8
		low    [QK_K]uint8
	)
	for i := 0; i < len(x)/QK_K; i++ {
		xb := x[i*QK_K : (i+1)*QK_K]
		b := dst[i*blockQ3_K : (i+1)*blockQ3_K]
		for g := range scales {
			scales[g] = makeQ3Quants(4, xb[16*g:16*g+16], L[16*g:16*g+16])
		}
		maxScale, _ := largestScale(&scales)
		ps := b[96:108]
		clear(ps)
		if maxScale != 0 {
			iscale := -32 / maxScale
			for g := 0; g < 16; g++ {
				l := byte(clampInt(int(int8(nearestInt(iscale*scales[g]))), -32, 31) + 32)
				if g < 8 {
					ps[g] = l & 0xF
				} else {
					ps[g-8] |= l & 0xF << 4
				}
				ps[8+g%4] |= l >> 4 << (2 * (g / 4))
			}
			putHalf(b[108:], 1/iscale)
		} else {
			putHalf(b[108:], 0)
		}
		q3Scales(ps, &sc)
		requantGroups(xb, &L, half(b[108:]), &sc, 4)
		hmask := b[:32]
		clear(hmask)
		for e, l := range L {
			if l > 3 {
				hmask[e%32] |= 1 << (e / 32)
				l -= 4
			}
			low[e] = uint8(l)
		}
		pack2Bit(b[32:96], &low)
	}
}

// VecDotQ3_K is ggml_vec_dot_q3_K_q8_K_generic.
//
//	w (n/256 Q3_K blocks) . a (n/256 Q8_K blocks) -> float32
func VecDotQ3_K(n int, w, a []byte) float32 {
	var s groupedDot
	for i := 0; i < n/QK_K; i++ {
		d := unpackQ3_K(w[i*blockQ3_K:(i+1)*blockQ3_K], &s.sc, &s.q)
		s.addBlock(d, a[i*blockQ8_K:])
	}
	return s.lanes.total(0)
}
