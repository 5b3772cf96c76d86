package main

// Activation quantizers with the bits of package quant's: Q8_0 as
// QuantizeActRowQ8_0 (127/amax, round half to even) and Q8_K as
// QuantizeRowQ8_K (-127/max with max the first element of largest
// magnitude, ggml's nearest_int, group sums).

func genQuant(g *gen) {
	genQuantQ8_0(g)
	genQuantQ8_K(g)
}

// movFloat sets scalar s d to the float32 with the given bits, using w tmp.
func (g *gen) movFloat(d V, bits uint32, tmp int) {
	g.op("MOVW $0x%08x, R%d", bits, tmp)
	g.fmovFromGP(d, tmp)
}

// dupWord sets the 4 words of d to bits, using w tmp.
func (g *gen) dupWord(d V, bits uint32, tmp int) {
	g.op("MOVW $0x%08x, R%d", bits, tmp)
	g.dupGP(S4, d, tmp)
}

// absMaxTree leaves in s d the largest |x| of the 4-float registers xs
// (which it overwrites; len(xs) a power of two).
func (g *gen) absMaxTree(d V, xs []V) {
	for _, x := range xs {
		g.fabs(x, x)
	}
	for n := len(xs); n > 1; n /= 2 {
		for i := 0; i < n/2; i++ {
			g.fmax(S4, xs[i], xs[i], xs[i+n/2])
		}
	}
	g.fmaxv(d, xs[0])
}

// narrowBytes narrows the int32 lanes of 4 registers from x (16 values) to
// their low bytes in d, as a conversion to int8 truncates; it uses t and
// t+1.
func (g *gen) narrowBytes(d, x, t V) {
	g.xtn(H4, t, x, false)
	g.xtn(H8, t, x+1, true)
	g.xtn(H4, t+1, x+2, false)
	g.xtn(H8, t+1, x+3, true)
	g.xtn(B8, d, t, false)
	g.xtn(B16, d, t+1, true)
}

// genQuantQ8_0 emits quantQ8_0NEON: per block of 32, d = amax/127 as f16
// and q = round-half-even(x * (127/amax)). When amax is 0 every x is ±0 and
// x*Inf is NaN, which FCVTNS turns into 0 as the reference's 0 scale does;
// where 127/amax overflows, FCVTNS saturates and the narrowing keeps the low
// byte, as Go's float-to-int8 conversion does on arm64.
func genQuantQ8_0(g *gen) {
	g.fn("quantQ8_0NEON", "quantQ8_0NEON quantizes nb blocks of 32 floats at x to Q8_0 at dst as\nquant.QuantizeActRowQ8_0 does.", params("x *float32", "dst *byte", "nb int"), nil)
	g.loadArgs("x", "dst", "nb")
	g.movFloat(30, 0x42fe0000, 3) // 127
	g.label("loop")
	g.op("VLD1.P 64(R0), %s", list(0, 1, 2, 3))
	g.op("VLD1.P 64(R0), %s", list(4, 5, 6, 7))
	xs := []V{0, 1, 2, 3, 4, 5, 6, 7}
	abs := []V{8, 9, 10, 11, 12, 13, 14, 15}
	for i, x := range xs {
		g.orr(abs[i], x, x)
	}
	g.absMaxTree(16, abs)
	g.fdivs(17, 16, 30) // d = amax/127
	g.fdivs(18, 30, 16) // id = 127/amax
	g.fcvt(3, 0, 17, 17)
	g.op("VST1.P V17.H[0], 2(R1)")
	for _, x := range xs {
		g.fmulElem(S4, x, x, 18, 0)
		g.fcvtns(x, x)
	}
	g.narrowBytes(16, 0, 8)
	g.narrowBytes(17, 4, 10)
	g.op("VST1.P %s, 32(R1)", list(16, 17))
	g.op("SUBS $1, R2, R2")
	g.op("BNE loop")
	g.op("RET")
}

// genQuantQ8_K emits quantQ8_KNEON. Per block of 256: amax over all, then a
// scalar scan for the first element with that magnitude (its sign makes
// the scale's); an all-zero block is stored as zeros. Then iscale =
// -127/max, q = min(127, nearest_int(iscale*x)) with nearest_int's
// float trick (add 1.5*2^23, keep the mantissa bits, subtract 2^22) done
// lane by lane exactly as quant does it, d = 1/iscale, and the 16 group
// sums.
func genQuantQ8_K(g *gen) {
	g.fn("quantQ8_KNEON", "quantQ8_KNEON quantizes nb blocks of 256 floats at x to Q8_K at dst as\nquant.QuantizeRowQ8_K does.", params("x *float32", "dst *byte", "nb int"), nil)
	g.loadArgs("x", "dst", "nb")
	g.movFloat(29, 0xc2fe0000, 3) // -127
	g.movFloat(28, 0x3f800000, 3) // 1
	g.dupWord(24, 0x4b400000, 3)  // 12582912 = 1.5*2^23
	g.dupWord(25, 0x007fffff, 3)
	g.dupWord(26, 0x00400000, 3)
	g.dupWord(27, 127, 3)
	g.label("block")
	// Pass 1: the largest magnitude, in 4 running maxima.
	g.op("MOVD R0, R3")
	g.op("MOVD $16, R4")
	g.zero(16, 17, 18, 19)
	g.label("amax")
	g.op("VLD1.P 64(R3), %s", list(0, 1, 2, 3))
	for i := V(0); i < 4; i++ {
		g.fabs(i, i)
		g.fmax(S4, 16+i, 16+i, i)
	}
	g.op("SUBS $1, R4, R4")
	g.op("BNE amax")
	g.fmax(S4, 16, 16, 17)
	g.fmax(S4, 18, 18, 19)
	g.fmax(S4, 16, 16, 18)
	g.fmaxv(20, 16)
	g.fmovToGP(6, 20)
	g.op("CBZW R6, zeroblock")
	// The first element whose magnitude is amax.
	g.op("MOVD R0, R3")
	g.label("first")
	g.op("MOVWU.P 4(R3), R4")
	g.op("ANDW $0x7fffffff, R4, R5")
	g.op("CMPW R5, R6")
	g.op("BNE first")
	g.fmovFromGP(21, 4)
	g.fdivs(22, 29, 21) // iscale = -127/max
	g.fdivs(23, 28, 22) // d = 1/iscale
	g.op("FMOVS.P F23, 4(R1)")
	g.op("ADD $256, R1, R5") // group sums
	// Pass 2: 16 quants and one group sum per iteration.
	g.op("MOVD $16, R4")
	g.label("quant")
	g.op("VLD1.P 64(R0), %s", list(0, 1, 2, 3))
	for i := V(0); i < 4; i++ {
		g.fmulElem(S4, i, i, 22, 0)
		g.fadd(S4, i, i, 24)
		g.and(i, i, 25)
		g.sub(S4, i, i, 26)
		g.smin(S4, i, i, 27)
	}
	g.narrowBytes(6, 0, 4)
	g.op("VST1.P [V6.B16], 16(R1)")
	g.saddlv(B16, 7, 6)
	g.op("VST1.P V7.H[0], 2(R5)")
	g.op("SUBS $1, R4, R4")
	g.op("BNE quant")
	g.op("MOVD R5, R1")
	g.op("SUBS $1, R2, R2")
	g.op("BNE block")
	g.op("RET")
	g.label("zeroblock")
	g.zero(0, 1, 2, 3)
	for i := 0; i < 4; i++ {
		g.op("VST1.P %s, 64(R1)", list(0, 1, 2, 3))
	}
	g.op("VST1.P %s, 32(R1)", list(0, 1))
	g.op("MOVW ZR, (R1)")
	g.op("ADD $4, R1")
	g.op("ADD $1024, R0")
	g.op("SUBS $1, R2, R2")
	g.op("BNE block")
	g.op("RET")
}
