package quant

// Helpers shared by the K-quant formats (super-blocks of QK_K = 256
// elements): ggml's scale searches make_qx_quants, make_q3_quants and
// make_qkx2_quants (in the variants the reference quantizers use, without an
// importance matrix), the 6-bit scale packing of Q4_K/Q5_K, and the
// lane-wise accumulation of ggml's generic K-quant dot products.
//
// Every product that feeds a sum is wrapped in float32(...): the Go spec lets
// a compiler fuse x*y+z into one rounding unless an explicit conversion
// forbids it, and ggml's C rounds each step.

// groupMaxEps is ggml's GROUP_MAX_EPS: a group whose largest magnitude is
// below it is treated as all zeros.
const groupMaxEps = 1e-15

func clampInt(v, lo, hi int) int {
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}

// groupMax returns the element of largest magnitude of a group, or ok =
// false after zeroing L when ggml treats the group as all zeros.
func groupMax(x []float32, L []int8) (max float32, ok bool) {
	amax, max := absMax(x)
	if amax < groupMaxEps {
		clear(L[:len(x)])
		return 0, false
	}
	return max, true
}

// symQuants rounds iscale*x to quants l in [-nmax, nmax-1], stores l+offset
// in L unless L is nil, and returns the x*x-weighted sums of x*l and l*l.
func symQuants(nmax int, iscale float32, x []float32, L []int8, offset int) (sumlx, suml2 float32) {
	for i, v := range x {
		l := clampInt(nearestInt(iscale*v), -nmax, nmax-1)
		if L != nil {
			L[i] = int8(l + offset)
		}
		w, fl := v*v, float32(l)
		sumlx += float32(float32(w*v) * fl)
		suml2 += float32(float32(w*fl) * fl)
	}
	return sumlx, suml2
}

// makeQXQuants is make_qx_quants with rmse_type 1 and no importance weights
// (weights x*x), as quantize_row_q6_K_ref calls it: symmetric quants in
// [-nmax, nmax-1], stored in L offset by nmax, and the scale that minimises
// the weighted error over 19 candidate inverse scales.
func makeQXQuants(nmax int, x []float32, L []int8) float32 {
	max, ok := groupMax(x, L)
	if !ok {
		return 0
	}
	sumlx, suml2 := symQuants(nmax, float32(-nmax)/max, x, L, nmax)
	var scale float32
	if suml2 != 0 {
		scale = sumlx / suml2
	}
	best := scale * sumlx
	for is := -9; is <= 9; is++ {
		if is == 0 {
			continue
		}
		iscale := -(float32(nmax) + float32(float32(0.1)*float32(is))) / max
		sumlx, suml2 = symQuants(nmax, iscale, x, nil, 0)
		if suml2 > 0 && sumlx*sumlx > best*suml2 {
			symQuants(nmax, iscale, x, L, nmax)
			scale = sumlx / suml2
			best = scale * sumlx
		}
	}
	return scale
}

// makeQ3Quants is make_q3_quants with do_rmse: symmetric quants in
// [-nmax, nmax-1] refined one element at a time (up to 5 passes) to minimise
// the x*x-weighted error, stored in L offset by nmax.
func makeQ3Quants(nmax int, x []float32, L []int8) float32 {
	max, ok := groupMax(x, L)
	if !ok {
		return 0
	}
	sumlx, suml2 := symQuants(nmax, float32(-nmax)/max, x, L, 0)
	for itry := 0; itry < 5; itry++ {
		changed := 0
		for i, v := range x {
			w := v * v
			li := float32(L[i])
			slx := sumlx - float32(float32(w*v)*li)
			if slx > 0 {
				sl2 := suml2 - float32(float32(w*li)*li)
				newL := clampInt(nearestInt(float32(v*sl2)/slx), -nmax, nmax-1)
				if newL != int(L[i]) {
					fl := float32(newL)
					slx += float32(float32(w*v) * fl)
					sl2 += float32(float32(w*fl) * fl)
					if sl2 > 0 && float32(slx*slx)*suml2 > float32(sumlx*sumlx)*sl2 {
						L[i] = int8(newL)
						sumlx, suml2 = slx, sl2
						changed++
					}
				}
			}
		}
		if changed == 0 {
			break
		}
	}
	for i := range x {
		L[i] += int8(nmax)
	}
	if suml2 > 0 {
		return sumlx / suml2
	}
	return 0
}

// largestScale returns the group scale of largest magnitude (sign kept,
// the first on ties) and that magnitude.
func largestScale(scales *[16]float32) (maxScale, maxAbs float32) {
	for _, s := range scales {
		if a := abs32(s); a > maxAbs {
			maxAbs, maxScale = a, s
		}
	}
	return maxScale, maxAbs
}

// requantGroups recomputes the symmetric quants of each group of 16 from the
// stored super-block scale d and group scales sc, as the Q3_K and Q6_K
// reference quantizers do: L = clamp(nearest_int(x/(d*sc)), -nmax, nmax-1)
// + nmax, leaving groups whose scale is zero as the search left them.
func requantGroups(xb []float32, L *[QK_K]int8, d float32, sc *[16]int8, nmax int) {
	for g := 0; g < 16; g++ {
		dg := d * float32(sc[g])
		if dg == 0 {
			continue
		}
		for k, v := range xb[16*g : 16*g+16] {
			L[16*g+k] = int8(clampInt(nearestInt(v/dg), -nmax, nmax-1) + nmax)
		}
	}
}

// makeQKX2Quants is make_qkx2_quants: asymmetric quants L in [0, nmax] with
// x ~ scale*L - theMin, searching nstep+1 inverse scales around nmax/(max-min)
// for the least weighted error (absolute error if useMad, else squared).
// laux is scratch of len(x).
func makeQKX2Quants(nmax int, x, weights []float32, L, laux []uint8, rmin, rdelta float32, nstep int, useMad bool) (scale, theMin float32) {
	min, max := x[0], x[0]
	sumW := weights[0]
	sumX := float32(sumW * x[0]) // rounded: it is added to below
	for i := 1; i < len(x); i++ {
		if x[i] < min {
			min = x[i]
		}
		if x[i] > max {
			max = x[i]
		}
		sumW += weights[i]
		sumX += float32(weights[i] * x[i])
	}
	if min > 0 {
		min = 0
	}
	if max == min {
		for i := range x {
			L[i] = 0
		}
		return 0, -min
	}
	fnmax := float32(nmax)
	iscale := fnmax / (max - min)
	scale = 1 / iscale
	errOf := func(scale, min float32, l uint8, x, w float32) float32 {
		diff := float32(float32(scale*float32(l))+min) - x
		if useMad {
			diff = abs32(diff)
		} else {
			diff = diff * diff
		}
		return float32(w * diff)
	}
	var bestErr float32
	for i, v := range x {
		L[i] = uint8(clampInt(nearestInt(iscale*(v-min)), 0, nmax))
		bestErr += errOf(scale, min, L[i], v, weights[i])
	}
	if nstep < 1 {
		return scale, -min
	}
	for is := 0; is <= nstep; is++ {
		iscale = (float32(rmin+float32(rdelta*float32(is))) + fnmax) / (max - min)
		var sumL, sumL2, sumXL float32
		for i, v := range x {
			l := uint8(clampInt(nearestInt(iscale*(v-min)), 0, nmax))
			laux[i] = l
			w, fl := weights[i], float32(l)
			sumL += float32(w * fl)
			sumL2 += float32(float32(w*fl) * fl)
			sumXL += float32(float32(w*fl) * v)
		}
		D := float32(sumW*sumL2) - float32(sumL*sumL)
		if D > 0 {
			thisScale := (float32(sumW*sumXL) - float32(sumX*sumL)) / D
			thisMin := (float32(sumL2*sumX) - float32(sumL*sumXL)) / D
			if thisMin > 0 {
				thisMin = 0
				thisScale = sumXL / sumL2
			}
			var curErr float32
			for i, v := range x {
				curErr += errOf(thisScale, thisMin, laux[i], v, weights[i])
			}
			if curErr < bestErr {
				copy(L[:len(x)], laux[:len(x)])
				bestErr = curErr
				scale, min = thisScale, thisMin
			}
		}
	}
	return scale, -min
}

// scaleMinK4 unpacks the 6-bit scale and min of sub-block j (0..7) from the
// 12 packed bytes of a Q4_K/Q5_K block (ggml's get_scale_min_k4):
//
//	j < 4:  sc = q[j] & 63,                        m = q[j+4] & 63
//	j >= 4: sc = q[j+4] & 0xF | (q[j-4] >> 6) << 4, m = q[j+4] >> 4 | (q[j] >> 6) << 4
func scaleMinK4(j int, q []byte) (sc, m uint8) {
	if j < 4 {
		return q[j] & 63, q[j+4] & 63
	}
	return q[j+4]&0xF | q[j-4]>>6<<4, q[j+4]>>4 | q[j]>>6<<4
}

// packScaleMinK4 packs 8 6-bit scales and mins into 12 bytes, the inverse of
// scaleMinK4.
func packScaleMinK4(q []byte, ls, lm *[8]uint8) {
	for j := 0; j < 4; j++ {
		q[j] = ls[j]
		q[j+4] = lm[j]
	}
	for j := 4; j < 8; j++ {
		q[j+4] = ls[j]&0xF | lm[j]&0xF<<4
		q[j-4] |= ls[j] >> 4 << 6
		q[j] |= lm[j] >> 4 << 6
	}
}

// laneSums holds ggml's eight float32 lane accumulators of the generic
// K-quant dot products; each block adds d*aux32[l] to lane l, and the lanes
// are summed in order at the end. Following this order is what makes the
// result match llama.cpp's scalar path bit for bit.
type laneSums [8]float32

// addBlock adds the integer lane sums of one super-block scaled by d.
func (s *laneSums) addBlock(d float32, aux *[8]int32) {
	for l := range s {
		s[l] += float32(d * float32(aux[l]))
	}
}

// total is sumf + lane 0 + ... + lane 7, in that order.
func (s *laneSums) total(sumf float32) float32 {
	for _, v := range s {
		sumf += v
	}
	return sumf
}

// accumulate16 adds scale * q8[k]*a[k] for the 16 elements of one group into
// the 8 lanes, as two rows of 8: lane l gets elements l and l+8.
func accumulate16(aux *[8]int32, scale int32, q8 []byte, a []int8) {
	q8, a = q8[:16], a[:16]
	for l := 0; l < 8; l++ {
		aux[l] += scale * (int32(int8(q8[l]))*int32(a[l]) + int32(int8(q8[l+8]))*int32(a[l+8]))
	}
}

// dequantGrouped decodes one Q3_K/Q6_K super-block from its scale d, signed
// group scales and signed quants: element e is d * sc[e/16] * q[e].
func dequantGrouped(y []float32, d float32, sc *[16]int8, q *[QK_K]int8) {
	y = y[:QK_K]
	for g := 0; g < 16; g++ {
		dl := d * float32(sc[g])
		yg := y[16*g : 16*g+16]
		for k, v := range q[16*g : 16*g+16] {
			yg[k] = dl * float32(v)
		}
	}
}

// groupedDot accumulates the generic Q3_K/Q6_K dot with Q8_K: per block the
// quants times the activations times the group scale summed into 8 integer
// lanes, each lane scaled by d_w*d_a and accumulated in float32 across
// blocks. The caller unpacks each block into sc and q, then calls addBlock.
type groupedDot struct {
	lanes laneSums
	sc    [16]int8
	q     [QK_K]int8
}

// addBlock adds one unpacked weight block with scale d against the Q8_K
// block at the start of a.
func (s *groupedDot) addBlock(d float32, a []byte) {
	yd, q8, _ := q8KBlock(a)
	var aux [8]int32
	for g := 0; g < 16; g++ {
		accumulate16(&aux, int32(s.sc[g]), q8[16*g:], s.q[16*g:])
	}
	s.lanes.addBlock(d*yd, &aux)
}

// The 6-bit scale-and-min formats Q4_K and Q5_K.

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
		ml := float32(dmin * float32(m)) // rounded before it is added
		for k, v := range xb[32*j : 32*j+32] {
			L[32*j+k] = uint8(clampInt(nearestInt((v+ml)/dl), 0, nmax))
		}
	}
}

// dequantScaleMin decodes one Q4_K/Q5_K block b whose unsigned quants are
// unpacked in q: element 32j+k is d*sc_j*q - dmin*m_j.
func dequantScaleMin(y []float32, b []byte, q *[QK_K]int8) {
	y = y[:QK_K]
	d, dmin := half(b), half(b[2:])
	for j := 0; j < 8; j++ {
		sc, m := scaleMinK4(j, b[4:16])
		dl, ml := d*float32(sc), float32(dmin*float32(m)) // ml rounded before it is subtracted
		yj := y[32*j : 32*j+32]
		for k, v := range q[32*j : 32*j+32] {
			yj[k] = float32(dl*float32(v)) - ml
		}
	}
}

// scaleMinDot accumulates the generic Q4_K/Q5_K dot with Q8_K: the quants
// against the activations scaled per sub-block into the 8 lanes, and the mins
// through the activation group sums into a separate float32 sum. The caller
// unpacks each block's quants into q, then calls addBlock.
type scaleMinDot struct {
	lanes laneSums
	sumf  float32
	q     [QK_K]int8
}

// addBlock adds weight block x (quants unpacked in s.q) against the Q8_K
// block at the start of a.
func (s *scaleMinDot) addBlock(x, a []byte) {
	yd, q8, bsums := q8KBlock(a)
	var sc, m [8]int32
	for j := 0; j < 8; j++ {
		s, mm := scaleMinK4(j, x[4:16])
		sc[j], m[j] = int32(s), int32(mm)
	}
	var sumi int32
	for g := 0; g < 16; g++ {
		sumi += bsum(bsums, g) * m[g/2]
	}
	var aux [8]int32
	for g := 0; g < 16; g++ {
		accumulate16(&aux, sc[g/2], q8[16*g:], s.q[16*g:])
	}
	s.lanes.addBlock(half(x)*yd, &aux)
	s.sumf -= float32(half(x[2:]) * yd * float32(sumi))
}

// total is the dot product of all blocks added.
func (s *scaleMinDot) total() float32 { return s.lanes.total(s.sumf) }
