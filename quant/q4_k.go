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

// DequantizeRowQ4_K decodes len(dst)/256 Q4_K blocks from src.
//
//	src (len(dst)/256 blocks of 144 bytes) -> dst (multiple of 256)
func DequantizeRowQ4_K(src []byte, dst []float32) {
	for i := 0; i < len(dst)/QK_K; i++ {
		b := src[i*blockQ4_K : (i+1)*blockQ4_K]
		y := dst[i*QK_K : (i+1)*QK_K]
		d, dmin := half(b), half(b[2:])
		for j := 0; j < 8; j++ {
			sc, m := scaleMinK4(j, b[4:16])
			dl, ml := d*float32(sc), dmin*float32(m)
			qs := b[16+j/2*32 : 16+j/2*32+32]
			shift := uint(j%2) * 4
			yj := y[32*j : 32*j+32]
			for k, q := range qs {
				yj[k] = float32(dl*float32(q>>shift&0xF)) - ml
			}
		}
	}
}

// QuantizeRowQ4_K encodes x as Q4_K into dst, exactly as
// quantize_row_q4_K_ref: make_qkx2_quants per sub-block of 32 (weights
// rms + |x|), scales and mins quantized to 6 bits against their maxima, then
// every quant recomputed from the stored scales.
//
//	x (multiple of 256) -> dst (len(x)/256 blocks of 144 bytes)
func QuantizeRowQ4_K(x []float32, dst []byte) {
	for i := 0; i < len(x)/QK_K; i++ {
		b := dst[i*blockQ4_K : (i+1)*blockQ4_K]
		var L [QK_K]uint8
		quantizeKScaleMin(x[i*QK_K:(i+1)*QK_K], b[:2], b[2:4], b[4:16], &L, 15, -1, 0.1, 20)
		qs := b[16:144]
		for p := 0; p < 4; p++ {
			for k := 0; k < 32; k++ {
				qs[32*p+k] = L[64*p+k] | L[64*p+32+k]<<4
			}
		}
	}
}

// quantizeKScaleMin is the part Q4_K and Q5_K quantizers share: scales and
// mins of the 8 sub-blocks by make_qkx2_quants with weights sqrt(mean x^2) +
// |x|, stored as 6-bit values (packed into scales) against d and dmin, and
// the quants in [0, nmax] recomputed from the stored values into L.
func quantizeKScaleMin(xb []float32, dOut, dminOut, packed []byte, L *[QK_K]uint8, nmax int, rmin, rdelta float32, nstep int) {
	var (
		laux           [32]uint8
		weights        [32]float32
		scales, mins   [8]float32
		maxScale, maxM float32
	)
	for j := 0; j < 8; j++ {
		xj := xb[32*j : 32*j+32]
		var sumX2 float32
		for _, v := range xj {
			sumX2 += float32(v * v)
		}
		avX := sqrt32(sumX2 / 32)
		for l, v := range xj {
			weights[l] = avX + abs32(v)
		}
		scales[j], mins[j] = makeQKX2Quants(nmax, xj, weights[:], L[32*j:32*j+32], laux[:], rmin, rdelta, nstep, false)
		if scales[j] > maxScale {
			maxScale = scales[j]
		}
		if mins[j] > maxM {
			maxM = mins[j]
		}
	}
	var invScale, invMin float32
	if maxScale > 0 {
		invScale = 63 / maxScale
	}
	if maxM > 0 {
		invMin = 63 / maxM
	}
	var ls, lm [8]uint8
	for j := 0; j < 8; j++ {
		ls[j] = min(63, uint8(nearestInt(invScale*scales[j])))
		lm[j] = min(63, uint8(nearestInt(invMin*mins[j])))
	}
	packScaleMinK4(packed, &ls, &lm)
	putHalf(dOut, maxScale/63)
	putHalf(dminOut, maxM/63)
	d, dmin := half(dOut), half(dminOut)
	for j := 0; j < 8; j++ {
		sc, m := scaleMinK4(j, packed)
		dl := d * float32(sc)
		if dl == 0 {
			continue
		}
		ml := dmin * float32(m)
		for k, v := range xb[32*j : 32*j+32] {
			L[32*j+k] = uint8(clampInt(nearestInt((v+ml)/dl), 0, nmax))
		}
	}
}

// kScalesMins unpacks the 8 scales and 8 mins of a Q4_K/Q5_K block.
func kScalesMins(packed []byte) (sc, m [8]int32) {
	for j := 0; j < 8; j++ {
		s, mm := scaleMinK4(j, packed)
		sc[j], m[j] = int32(s), int32(mm)
	}
	return sc, m
}

// dotKScaleMin finishes one Q4_K/Q5_K block of ggml's generic dot: the
// unsigned quants q (0..15 or 0..31) against the Q8_K activations, scaled per
// sub-block into the lanes, and the mins through the group sums into sumf.
func dotKScaleMin(lanes *laneSums, sumf float32, x []byte, q *[QK_K]int8, yd float32, q8, bsums []byte) float32 {
	sc, m := kScalesMins(x[4:16])
	var sumi int32
	for g := 0; g < 16; g++ {
		sumi += bsum(bsums, g) * m[g/2]
	}
	var aux [8]int32
	for g := 0; g < 16; g++ {
		accumulate16(&aux, sc[g/2], q8[16*g:], q[16*g:])
	}
	lanes.addBlock(half(x)*yd, &aux)
	dmin := half(x[2:]) * yd
	return sumf - float32(dmin*float32(sumi))
}

// VecDotQ4_K is ggml_vec_dot_q4_K_q8_K_generic.
//
//	w (n/256 Q4_K blocks) . a (n/256 Q8_K blocks) -> float32
func VecDotQ4_K(n int, w, a []byte) float32 {
	var (
		lanes laneSums
		sumf  float32
		q     [QK_K]int8
	)
	for i := 0; i < n/QK_K; i++ {
		x := w[i*blockQ4_K : (i+1)*blockQ4_K]
		yd, q8, bsums := q8KBlock(a[i*blockQ8_K:])
		qs := x[16:144]
		for p := 0; p < 4; p++ {
			for k := 0; k < 32; k++ {
				q[64*p+k] = int8(qs[32*p+k] & 0xF)
				q[64*p+32+k] = int8(qs[32*p+k] >> 4)
			}
		}
		sumf = dotKScaleMin(&lanes, sumf, x, &q, yd, q8, bsums)
	}
	return lanes.total(sumf)
}
