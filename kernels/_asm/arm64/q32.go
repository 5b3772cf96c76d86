package main

import "fmt"

// Dot kernels of the formats with blocks of 32 (Q8_0, Q4_0, Q5_0) against
// Q8_0 activations, in two variants: with SDOT (dotprod) and with widening
// multiplies (SMULL) for cores without it. Integer sums are exact either
// way, so both give the generic kernels' bits.

// variant names a kernel variant by its suffix and whether it uses SDOT.
type variant struct {
	suffix string
	dot    bool
}

var variants = []variant{{"NEON", false}, {"DOT", true}}

// Dot kernels come in two forms: R = 1, one activation row against a run
// of weight rows (wstride bytes apart), and R = 4, one weight row against
// four activation rows. Their general registers: R0 blocks left, R1
// weights, R2..R5 activation rows, R6..R9 the rows' float32 block scales,
// R10 out, R11 its stride in bytes; the run of weight rows keeps R3 rows
// left, R4 nb, R5 wstride, R7 the row's weights, R8 and R9 the activations
// and scales.

// kname names the R-row form of a kernel.
func kname(prefix string, R int, suffix string) string {
	if R == 1 {
		return prefix + "Rows" + suffix
	}
	return fmt.Sprintf("%sx%d%s", prefix, R, suffix)
}

// q32Params are the parameters of a kernel over R activation rows with
// float32 block scales.
func q32Params(R int) (args, results []param) {
	if R == 1 {
		return params("nb int", "w *byte", "wstride int", "rows int", "a *byte", "ad *float32", "out *float32"), nil
	}
	return params("nb int", "w *byte", "a *byte", "astride int", "ad *float32", "adstride int", "out *float32", "ostride int"), nil
}

// rowsPrologue loads the arguments of an R-row kernel: row t of the
// activations at R(2+t), and with scales, of the block scales at R(6+t).
func (g *gen) rowsPrologue(R int, scales bool) {
	if R == 1 {
		for _, p := range []struct {
			arg string
			reg int
		}{{"nb", 4}, {"w", 7}, {"wstride", 5}, {"rows", 3}, {"a", 8}, {"out", 10}} {
			g.op("MOVD %s, R%d", g.arg(p.arg), p.reg)
		}
		if scales {
			g.op("MOVD %s, R9", g.arg("ad"))
		}
		return
	}
	g.loadArgs("nb", "w", "a")
	if scales {
		g.op("MOVD %s, R6", g.arg("ad"))
	}
	g.op("MOVD %s, R12", g.arg("astride"))
	for t := 1; t < R; t++ {
		g.op("ADD R12, R%d, R%d", 1+t, 2+t)
	}
	if scales {
		g.op("MOVD %s, R12", g.arg("adstride"))
		for t := 1; t < R; t++ {
			g.op("ADD R12, R%d, R%d", 5+t, 6+t)
		}
	}
	g.op("MOVD %s, R10", g.arg("out"))
	g.op("MOVD %s, R11", g.arg("ostride"))
}

// rowStart begins the loop over weight rows of a one-row kernel: the
// block count and the pointers set for the row. Constants go before it.
func (g *gen) rowStart(R int, scales bool) {
	if R > 1 {
		return
	}
	g.label("row")
	g.op("MOVD R4, R0")
	g.op("MOVD R7, R1")
	g.op("MOVD R8, R2")
	if scales {
		g.op("MOVD R9, R6")
	}
}

// rowEnd closes the loop over weight rows.
func (g *gen) rowEnd(R int) {
	if R > 1 {
		return
	}
	g.op("ADD R5, R7")
	g.op("SUBS $1, R3, R3")
	g.op("BNE row")
}

// storeRow stores row t's result, the float32 in lane lane of s: at out
// + t*ostride for four activation rows, at the next out for a run of
// weight rows.
func (g *gen) storeRow(R, t int, s V, lane int) {
	if R == 1 {
		if lane != 0 {
			g.movScalar(2, s, s, lane)
		}
		g.op("FMOVS.P %s, 4(R10)", s.F())
		return
	}
	if lane == 0 {
		g.op("FMOVS %s, (R10)", s.F())
	} else {
		g.op("VST1 V%d.S[%d], (R10)", s, lane)
	}
	if t < R-1 {
		g.op("ADD R11, R10")
	}
}

// loopEnd closes a block loop that counts R0 down to zero.
func (g *gen) loopEnd(label string) {
	g.op("SUBS $1, R0, R0")
	g.op("BNE %s", label)
}

// gatherScales loads the current block scale of each row into lane t of d
// and advances the scale pointers.
func (g *gen) gatherScales(R int, d V) {
	for t := 0; t < R; t++ {
		g.op("VLD1.P 4(R%d), V%d.S[%d]", 6+t, d, t)
	}
}

// loadActs loads the 32 quants of row t's current Q8_0 block into a0, a1
// and moves the row pointer to the next block.
func (g *gen) loadActs(t int, a0, a1 V) {
	g.op("ADD $2, R%d", 2+t)
	g.op("VLD1.P 32(R%d), %s", 2+t, list(a0, a1))
}

func q32Doc(typ string, R int) string {
	d := fmt.Sprintf("writes out[r] = row r of w (rows rows of nb %s blocks, wstride bytes apart)\n. a (nb Q8_0 blocks, block scales as float32 at ad)", typ)
	if R > 1 {
		d = fmt.Sprintf("stores at out+t*ostride (bytes) w (nb %s blocks) . row t of %d Q8_0 activation rows at\na+t*astride (bytes), block scales at ad+t*adstride (bytes)", typ, R)
	}
	return d
}

func genQ32(g *gen) {
	for _, va := range variants {
		for _, R := range []int{1, 4} {
			genQ8_0(g, R, va)
			genQ4_0(g, R, va)
			genQ5_0(g, R, va)
		}
	}
}

// genQ8_0 emits the Q8_0 kernel, the twin of dotQ8_0Lanes: per block the
// exact integer sums of the 8 groups of 4 products go to 8 float32 lanes
// (two registers per row) by one fused multiply-add with d_w*d_a each, and
// the lanes are reduced as reduceLanes does.
func genQ8_0(g *gen, R int, va variant) {
	name := kname("dotQ8_0", R, va.suffix)
	args, res := q32Params(R)
	g.fn(name, name+" "+q32Doc("Q8_0", R)+",\nin the eight-lane FMA order of dotQ8_0Lanes.", args, res)
	g.rowsPrologue(R, true)
	g.rowStart(R, true)
	for t := 0; t < R; t++ {
		g.zero(V(16+2*t), V(17+2*t))
	}
	g.label("loop")
	g.op("VLD1.P 2(R1), V0.H[0]")
	g.op("VLD1.P 32(R1), %s", list(1, 2))
	g.fcvt(0, 3, 0, 0)
	g.gatherScales(R, 3)
	if R == 1 {
		g.fmuls(3, 3, 0)
	} else {
		g.fmulElem(S4, 3, 3, 0, 0)
	}
	for t := 0; t < R; t++ {
		b := V(4 + 6*(t%2)) // a0, a1, then four products
		a0, a1, p0, p1, p2, p3 := b, b+1, b+2, b+3, b+4, b+5
		g.loadActs(t, a0, a1)
		i0, i1 := p0, p2
		if va.dot {
			i1 = p1
			g.zero(p0, p1)
			g.sdot(p0, 1, a0)
			g.sdot(p1, 2, a1)
		} else {
			g.smull(B8, p0, 1, a0)
			g.smull(B16, p1, 1, a0)
			g.smull(B8, p2, 2, a1)
			g.smull(B16, p3, 2, a1)
			for _, p := range []V{p0, p1, p2, p3} {
				g.saddlp(H8, p, p)
			}
			g.addp(S4, p0, p0, p1)
			g.addp(S4, p2, p2, p3)
		}
		g.scvtf(i0, i0)
		g.scvtf(i1, i1)
		g.fmlaElem(S4, V(16+2*t), i0, 3, t)
		g.fmlaElem(S4, V(17+2*t), i1, 3, t)
	}
	g.loopEnd("loop")
	for t := 0; t < R; t++ {
		g.fadd(S4, 24, V(16+2*t), V(17+2*t)) // e_j = l_j + l_{j+4}
		g.ext(25, 24, 24, 8)
		g.fadd(S2, 24, 24, 25) // e0+e2, e1+e3
		g.faddp2s(24, 24)
		g.storeRow(R, t, 24, 0)
	}
	g.rowEnd(R)
	g.op("RET")
}

// blockSums computes the exact integer sums of 32 products of weights w0
// (elements 0..15) and w1 (16..31) with each row's Q8_0 quants, leaving row
// t's sum in lane t of V16 (lane 0 for one row), using V6..V11 and V16..V19.
func (g *gen) blockSums(R int, va variant, w0, w1 V) {
	for t := 0; t < R; t++ {
		b := V(6 + 3*(t%2))
		a0, a1, p := b, b+1, b+2
		it := V(16 + t)
		g.loadActs(t, a0, a1)
		if va.dot {
			g.zero(it)
			g.sdot(it, w0, a0)
			g.sdot(it, w1, a1)
			if R == 1 {
				g.addv(S4, it, it)
			}
			continue
		}
		// Sums of 4 products fit in 16 bits (|w| <= 16, |a| <= 128).
		g.smull(B8, p, w0, a0)
		g.smlal(B16, p, w0, a0)
		g.smlal(B8, p, w1, a1)
		g.smlal(B16, p, w1, a1)
		if R == 1 {
			g.saddlv(H8, it, p)
		} else {
			g.saddlp(H8, it, p)
		}
	}
	if R > 1 {
		g.addp(S4, 16, 16, 17)
		g.addp(S4, 18, 18, 19)
		g.addp(S4, 16, 16, 18)
	}
}

// storeSums stores each row's float32 sum from lane t of s.
func (g *gen) storeSums(R int, s V) {
	for t := 0; t < R; t++ {
		g.storeRow(R, t, s, t)
	}
}

// genQ4_0 emits the Q4_0 kernel with the arithmetic of quant.VecDotQ4_0:
// per block sumf += (float32(sumi) * d_w) * d_a, each step rounded.
func genQ4_0(g *gen, R int, va variant) {
	name := kname("dotQ4_0", R, va.suffix)
	args, res := q32Params(R)
	g.fn(name, name+" "+q32Doc("Q4_0", R)+",\nrounding as quant.VecDotQ4_0.", args, res)
	g.rowsPrologue(R, true)
	g.movi16b(28, 0x0F)
	g.movi16b(29, 8)
	g.rowStart(R, true)
	g.zero(30)
	g.label("loop")
	g.op("VLD1.P 2(R1), V0.H[0]")
	g.op("VLD1.P 16(R1), [V1.B16]")
	g.fcvt(0, 3, 0, 0)
	g.and(2, 1, 28)
	g.ushr(B16, 1, 1, 4)
	g.sub(B16, 2, 2, 29)
	g.sub(B16, 1, 1, 29)
	g.gatherScales(R, 3)
	g.blockSums(R, va, 2, 1)
	if R == 1 {
		g.scvtfs(16, 16)
		g.fmuls(16, 16, 0)
		g.fmuls(16, 16, 3)
		g.fadds(30, 30, 16)
	} else {
		g.scvtf(16, 16)
		g.fmulElem(S4, 16, 16, 0, 0)
		g.fmul(S4, 16, 16, 3)
		g.fadd(S4, 30, 30, 16)
	}
	g.loopEnd("loop")
	g.storeSums(R, 30)
	g.rowEnd(R)
	g.op("RET")
}

// genQ5_0 emits the Q5_0 kernel with the arithmetic of quant.VecDotQ5_0:
// per block sumf += float32(d_w*d_a) * float32(sumi).
func genQ5_0(g *gen, R int, va variant) {
	name := kname("dotQ5_0", R, va.suffix)
	args, res := q32Params(R)
	g.fn(name, name+" "+q32Doc("Q5_0", R)+",\nrounding as quant.VecDotQ5_0.", args, res)
	g.rowsPrologue(R, true)
	g.movi16b(28, 0x0F)
	g.movi16b(29, 0x10)
	g.op("MOVD $%s, R12", q5IdxSym)
	g.op("VLD1 (R12), %s", list(24, 25))
	g.loadConst(bitsSym, 26, "R12")
	g.rowStart(R, true)
	g.zero(30)
	g.label("loop")
	g.op("VLD1.P 2(R1), V0.H[0]")
	g.op("VLD1.P 4(R1), V1.S[0]")
	g.op("VLD1.P 16(R1), [V2.B16]")
	g.fcvt(0, 3, 0, 0)
	// Byte j of V3/V4 is 0xFF where bit j (j+16) of qh is set; the fifth
	// bit then only decides whether 16 is subtracted from the nibble.
	g.tbl(3, 1, 24)
	g.tbl(4, 1, 25)
	g.cmtst(B16, 3, 3, 26)
	g.cmtst(B16, 4, 4, 26)
	g.bic(3, 29, 3)
	g.bic(4, 29, 4)
	g.and(5, 2, 28)
	g.ushr(B16, 2, 2, 4)
	g.sub(B16, 5, 5, 3)
	g.sub(B16, 2, 2, 4)
	g.gatherScales(R, 3)
	g.blockSums(R, va, 5, 2)
	if R == 1 {
		g.fmuls(3, 3, 0)
		g.scvtfs(16, 16)
		g.fmuls(16, 3, 16)
		g.fadds(30, 30, 16)
	} else {
		g.fmulElem(S4, 3, 3, 0, 0)
		g.scvtf(16, 16)
		g.fmul(S4, 16, 3, 16)
		g.fadd(S4, 30, 30, 16)
	}
	g.loopEnd("loop")
	g.storeSums(R, 30)
	g.rowEnd(R)
	g.op("RET")
}
