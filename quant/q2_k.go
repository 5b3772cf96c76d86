package quant

// Q2_K: super-blocks of 256 elements in 16 groups of 16, 84 bytes:
//
//	offset 0   scales  uint8[16]  group g: scale = scales[g] & 0xF, min = scales[g] >> 4
//	offset 16  qs      uint8[64]  2-bit quants, see below
//	offset 80  d       f16        super-block scale of the group scales
//	offset 82  dmin    f16        super-block scale of the group mins
//
// Element e = 128*h + 32*s + k (half h in 0..1, shift s in 0..3, k in 0..31)
// has quant q = (qs[32*h + k] >> 2s) & 3 and group g = e/16, and is
//
//	d * (scales[g] & 0xF) * q - dmin * (scales[g] >> 4)
//
// Dotted with activations in Q8_K.

const blockQ2_K = 84

// DequantizeRowQ2_K decodes len(dst)/256 Q2_K blocks from src.
//
//	src (len(dst)/256 blocks of 84 bytes) -> dst (multiple of 256)
func DequantizeRowQ2_K(src []byte, dst []float32) {
	for i := 0; i < len(dst)/QK_K; i++ {
		b := src[i*blockQ2_K : (i+1)*blockQ2_K]
		y := dst[i*QK_K : (i+1)*QK_K]
		scales, qs := b[:16], b[16:80]
		d, dmin := half(b[80:]), half(b[82:])
		for g := 0; g < 16; g++ {
			// group g = 8h + 2s + half: elements 128h + 32s + 16half + (0..15)
			h, s, k0 := g/8, g%8/2, g%2*16
			dl, ml := d*float32(scales[g]&0xF), float32(dmin*float32(scales[g]>>4)) // ml rounded before it is subtracted
			q := qs[32*h+k0 : 32*h+k0+16]
			yg := y[16*g : 16*g+16]
			shift := uint(2 * s)
			for k, v := range q {
				yg[k] = float32(dl*float32(v>>shift&3)) - ml
			}
		}
	}
}

// QuantizeRowQ2_K encodes x as Q2_K into dst, exactly as
// quantize_row_q2_K_ref: make_qkx2_quants per group of 16 (weights |x|,
// absolute error), group scales and mins quantized to 4 bits against their
// maxima, then every quant recomputed from the stored scales.
//
//	x (multiple of 256) -> dst (len(x)/256 blocks of 84 bytes)
func QuantizeRowQ2_K(x []float32, dst []byte) {
	var (
		L       [QK_K]uint8
		laux    [16]uint8
		weights [16]float32
		mins    [16]float32
		scales  [16]float32
	)
	const q4scale = 15
	for i := 0; i < len(x)/QK_K; i++ {
		xb := x[i*QK_K : (i+1)*QK_K]
		b := dst[i*blockQ2_K : (i+1)*blockQ2_K]
		var maxScale, maxMin float32
		for g := 0; g < 16; g++ {
			xg := xb[16*g : 16*g+16]
			for l, v := range xg {
				weights[l] = abs32(v)
			}
			scales[g], mins[g] = makeQKX2Quants(3, xg, weights[:], L[16*g:16*g+16], laux[:], -0.5, 0.1, 15, true)
			if scales[g] > maxScale {
				maxScale = scales[g]
			}
			if mins[g] > maxMin {
				maxMin = mins[g]
			}
		}
		sc := b[:16]
		if maxScale > 0 {
			iscale := q4scale / maxScale
			for g := range sc {
				sc[g] = uint8(nearestInt(iscale * scales[g]))
			}
			putHalf(b[80:], maxScale/q4scale)
		} else {
			clear(sc)
			putHalf(b[80:], 0)
		}
		if maxMin > 0 {
			iscale := q4scale / maxMin
			for g := range sc {
				sc[g] |= uint8(nearestInt(iscale*mins[g]) << 4)
			}
			putHalf(b[82:], maxMin/q4scale)
		} else {
			putHalf(b[82:], 0)
		}
		d, dmin := half(b[80:]), half(b[82:])
		for g := 0; g < 16; g++ {
			dg := d * float32(sc[g]&0xF)
			if dg == 0 {
				continue
			}
			mg := float32(dmin * float32(sc[g]>>4)) // rounded before it is added
			for k, v := range xb[16*g : 16*g+16] {
				L[16*g+k] = uint8(clampInt(nearestInt((v+mg)/dg), 0, 3))
			}
		}
		pack2Bit(b[16:80], &L)
	}
}

// pack2Bit packs 256 2-bit values as Q2_K and Q3_K store their low bits:
// byte 32*h + k holds elements 128*h + k + 32*s in bits 2s..2s+1.
func pack2Bit(qs []byte, L *[QK_K]uint8) {
	for h := 0; h < 2; h++ {
		for k := 0; k < 32; k++ {
			e := 128*h + k
			qs[32*h+k] = L[e] | L[e+32]<<2 | L[e+64]<<4 | L[e+96]<<6
		}
	}
}

// VecDotQ2_K is ggml_vec_dot_q2_K_q8_K_generic: the mins are applied through
// the activation group sums, the scaled quants as one integer sum per block.
//
//	w (n/256 Q2_K blocks) . a (n/256 Q8_K blocks) -> float32
func VecDotQ2_K(n int, w, a []byte) float32 {
	var sumf float32
	for i := 0; i < n/QK_K; i++ {
		x := w[i*blockQ2_K : (i+1)*blockQ2_K]
		yd, q8, bsums := q8KBlock(a[i*blockQ8_K:])
		sc, qs := x[:16], x[16:80]
		var summs int32
		for g := 0; g < 16; g++ {
			summs += bsum(bsums, g) * int32(sc[g]>>4)
		}
		dall := yd * half(x[80:])
		dmin := yd * half(x[82:])
		var isum int32
		for g := 0; g < 16; g++ {
			// group g = 8h + 2s + half: elements 128h + 32s + 16half + (0..15)
			h, s, k0 := g/8, g%8/2, g%2*16
			q2 := qs[32*h+k0 : 32*h+k0+16]
			a8 := q8[16*g : 16*g+16]
			a8 = a8[:len(q2)]
			shift := uint(2 * s)
			var isuml int32
			for l, q := range q2 {
				isuml += int32(int8(a8[l])) * int32(q>>shift&3)
			}
			isum += int32(sc[g]&0xF) * isuml
		}
		sumf += float32(float32(dall*float32(isum)) - float32(dmin*float32(summs)))
	}
	return sumf
}
