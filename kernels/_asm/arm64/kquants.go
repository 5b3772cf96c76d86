package main

import "fmt"

// K-quant dot kernels against Q8_K activations, with the arithmetic of
// ggml's generic kernels as package quant specifies it: per super-block
// the products go to 8 integer lanes (lane l takes the elements l and l+8
// of every group of 16) scaled by the group scales, and each lane adds
// float32(d*yd * float32(lane)) to a float32 lane; Q4_K and Q5_K subtract
// their mins through the activations' group sums in a separate float32 sum;
// the lanes are summed in order at the end. Q2_K sums everything per block.
// A widening multiply of 8 bytes and one of the upper 8 (SMULL, SMLAL2)
// gives exactly those lanes for a group of 16; SDOT's groups of four
// adjacent products do not, so there is one variant of each kernel.
//
// Registers: V0 (and V1) the group scales as halves, V2 the rows' yd in
// lanes, V3..V15 the format's, V16+2t and V17+2t row t's integer lanes,
// V24+2t and V25+2t its float lanes. Row t's activations (R2+t) are read
// in order: yd, the 256 quants 32 at a time, the group sums.

func genKQuants(g *gen) {
	for _, R := range []int{1, 4} {
		genQ4_K(g, R)
		genQ5_K(g, R)
		genQ6_K(g, R)
		genQ3_K(g, R)
		genQ2_K(g, R)
	}
}

// Row step and accumulator registers.
const (
	actA0, actA1, actT V = 9, 10, 11
)

func aux(t int) (V, V)   { return V(16 + 2*t), V(17 + 2*t) }
func lanes(t int) (V, V) { return V(24 + 2*t), V(25 + 2*t) }

// kStart emits the prologue of K-quant kernel name over R rows.
func (g *gen) kStart(name, typ string, R int) {
	args := params("nb int", "w *byte", "wstride int", "rows int", "a *byte", "out *float32")
	doc := fmt.Sprintf("%s writes out[r] = row r of w (rows rows of nb %s blocks, wstride\nbytes apart) . a (nb Q8_K blocks)", name, typ)
	if R > 1 {
		args = params("nb int", "w *byte", "a *byte", "astride int", "out *float32", "ostride int")
		doc = fmt.Sprintf("%s stores at out+t*ostride (bytes) w (nb %s blocks) . row t of %d\nQ8_K activation rows at a+t*astride (bytes)", name, typ, R)
	}
	g.fn(name, doc+",\nrounding as quant.VecDot"+typ+".", args, nil)
	g.rowsPrologue(R, false)
}

// kBlockStart loads the rows' yd into lanes of V2 and clears the integer
// lanes.
func (g *gen) kBlockStart(R int, clearAux bool) {
	for t := 0; t < R; t++ {
		g.op("VLD1.P 4(R%d), V2.S[%d]", 2+t, t)
		if clearAux {
			a0, a1 := aux(t)
			g.zero(a0, a1)
		}
	}
}

// loadW loads 32 weight bytes at off from the block start (R1) into w0, w1.
func (g *gen) loadW(off int, w0, w1 V) {
	g.op("FMOVQ %d(R1), %s", off, w0.F())
	g.op("FMOVQ %d(R1), %s", off+16, w1.F())
}

// rowProducts loads row t's next 32 quants and leaves in T the 8 halves
// w[l]*a[l] + w[l+8]*a[l+8] (+ the same of the next 16 with w1 if both).
func (g *gen) rowProducts(t int, w0, w1 V, both bool) {
	g.op("VLD1.P 32(R%d), %s", 2+t, list(actA0, actA1))
	g.smull(B8, actT, w0, actA0)
	g.smlal(B16, actT, w0, actA0)
	if both {
		g.smlal(B8, actT, w1, actA1)
		g.smlal(B16, actT, w1, actA1)
	}
}

// step32 accumulates 32 weights w0 (elements 0..15), w1 (16..31) with one
// scale, V0.h[idx], into every row's integer lanes.
func (g *gen) step32(R int, w0, w1 V, idx int) {
	for t := 0; t < R; t++ {
		a0, a1 := aux(t)
		g.rowProducts(t, w0, w1, true)
		g.smlalElem(H4, a0, actT, 0, idx)
		g.smlalElem(H8, a1, actT, 0, idx)
	}
}

// step16x2 accumulates two groups of 16 weights, w0 with scale g and w1
// with g+1 (scales 0..7 in V0, 8..15 in V1), into acc(t)'s two registers.
func (g *gen) step16x2(R int, w0, w1 V, grp int, acc func(t int) (V, V)) {
	for t := 0; t < R; t++ {
		a0, a1 := acc(t)
		g.rowProducts(t, w0, w1, false)
		g.smlalElem(H4, a0, actT, V(grp/8), grp%8)
		g.smlalElem(H8, a1, actT, V(grp/8), grp%8)
		g.smull(B8, actT, w1, actA1)
		g.smlal(B16, actT, w1, actA1)
		g.smlalElem(H4, a0, actT, V((grp+1)/8), (grp+1)%8)
		g.smlalElem(H8, a1, actT, V((grp+1)/8), (grp+1)%8)
	}
}

// lanesUpdate adds each row's integer lanes, converted and scaled by
// d*yd_t (rounded), to its float lanes: d is lane di of register dreg; tmp
// receives the products.
func (g *gen) lanesUpdate(R int, dreg V, di int, tmp V) {
	g.fmulElem(S4, tmp, 2, dreg, di)
	for t := 0; t < R; t++ {
		a0, a1 := aux(t)
		l0, l1 := lanes(t)
		for _, p := range [][2]V{{a0, l0}, {a1, l1}} {
			g.scvtf(p[0], p[0])
			g.fmulElem(S4, p[0], p[0], tmp, t)
			g.fadd(S4, p[1], p[1], p[0])
		}
	}
}

// rowSums leaves the sum of the 4 int32 lanes of regs[t] in lane t of
// regs[0] (for one row, in its low lane), exactly.
func (g *gen) rowSums(regs []V) {
	if len(regs) == 1 {
		g.addv(S4, regs[0], regs[0])
		return
	}
	g.addp(S4, regs[0], regs[0], regs[1])
	g.addp(S4, regs[2], regs[2], regs[3])
	g.addp(S4, regs[0], regs[0], regs[2])
}

// minSums multiplies each row's 16 group sums (read next from its
// activations) by the halves m0, m1 (group g's factor at lane g of m0:m1)
// and leaves the row totals in the lanes of s[0]; b0, b1 are scratch.
func (g *gen) minSums(R int, m0, m1, b0, b1 V, s []V) {
	for t := 0; t < R; t++ {
		g.op("VLD1.P 32(R%d), %s", 2+t, list(b0, b1))
		g.smull(H4, s[t], b0, m0)
		g.smlal(H8, s[t], b0, m0)
		g.smlal(H4, s[t], b1, m1)
		g.smlal(H8, s[t], b1, m1)
	}
	g.rowSums(s[:R])
}

// finish stores each row's total: the float32 sum in lane t of sum (or
// +0 when sum is 0), then its 8 float lanes in order; x and y are scratch.
func (g *gen) finish(R int, sum V, x, y V) {
	for t := 0; t < R; t++ {
		if sum == 0 {
			g.zero(x)
		} else {
			g.movScalar(2, x, sum, t)
		}
		l0, l1 := lanes(t)
		for _, l := range []V{l0, l1} {
			g.fadds(x, x, l)
			for k := 1; k < 4; k++ {
				g.movScalar(2, y, l, k)
				g.fadds(x, x, y)
			}
		}
		g.storeRow(R, t, x, 0)
	}
}

// zeroLanes clears the float lanes of every row.
func (g *gen) zeroLanes(R int) {
	for t := 0; t < R; t++ {
		l0, l1 := lanes(t)
		g.zero(l0, l1)
	}
}

// loadHalves2 loads the two f16 at off from the block start as float32
// lanes 0 and 1 of d.
func (g *gen) loadHalves2(off int, d V) {
	g.op("MOVWU %d(R1), R12", off)
	g.insGP(2, d, 0, 12)
	g.fcvtl(d, d, true, false)
}

// unpackScaleMinK4 unpacks the 12 bytes of 6-bit scales and mins at 4 from
// the block start into R19 (8 scale bytes) and R20 (8 min bytes), as
// scaleMinK4 reads them.
func (g *gen) unpackScaleMinK4() {
	g.op("MOVWU 4(R1), R12")
	g.op("MOVWU 8(R1), R13")
	g.op("MOVWU 12(R1), R14")
	g.op("ANDW $0x3f3f3f3f, R12, R19") // sc 0..3 = q[j] & 63
	g.op("ANDW $0x3f3f3f3f, R13, R20") // m 0..3 = q[j+4] & 63
	g.op("ANDW $0x0f0f0f0f, R14, R21")
	g.op("LSRW $6, R12, R22")
	g.op("ANDW $0x03030303, R22, R22")
	g.op("ORRW R22<<4, R21, R21") // sc 4..7 = q[j+4] & 0xF | q[j-4] >> 6 << 4
	g.op("LSRW $4, R14, R23")
	g.op("ANDW $0x0f0f0f0f, R23, R23")
	g.op("LSRW $6, R13, R22")
	g.op("ANDW $0x03030303, R22, R22")
	g.op("ORRW R22<<4, R23, R23") // m 4..7 = q[j+4] >> 4 | q[j] >> 6 << 4
	g.op("ORR R21<<32, R19, R19")
	g.op("ORR R23<<32, R20, R20")
	g.insGP(3, 0, 0, 19)
	g.uxtl(B8, 0, 0)
}

// scaleMinEnd ends a Q4_K/Q5_K block: float lanes from d, and the mins
// (bytes in R20) through the group sums subtracted from sumf (V4) as
// float32((dmin*yd) * float32(sumi)). It uses V5..V15.
func (g *gen) scaleMinEnd(R int) {
	const x, dd, m0, m1, b0, b1 = 15, 14, 5, 6, 7, 8
	g.loadHalves2(0, x) // d, dmin
	g.lanesUpdate(R, x, 0, dd)
	g.insGP(3, m0, 0, 20)
	g.zip1(B16, m0, m0, m0) // m_j for groups 2j and 2j+1
	g.uxtl(B16, m1, m0)
	g.uxtl(B8, m0, m0)
	s := []V{9, 10, 11, 12}
	g.minSums(R, m0, m1, b0, b1, s)
	g.fmulElem(S4, dd, 2, x, 1)
	g.scvtf(9, 9)
	g.fmul(S4, dd, dd, 9)
	g.fsub(S4, 4, 4, dd)
}

// field2 sets the bytes of d to bits shift..shift+1 of those of src (c3
// holds 3 in every byte).
func (g *gen) field2(d, src, c3 V, shift int) {
	switch shift {
	case 0:
		g.and(d, src, c3)
	case 6:
		g.ushr(B16, d, src, 6)
	default:
		g.ushr(B16, d, src, shift)
		g.and(d, d, c3)
	}
}

// genQ4_K: sub-blocks 2p and 2p+1 share 32 bytes of quants at 16+32p, low
// and high nibbles.
func genQ4_K(g *gen, R int) {
	g.kStart(kname("dotQ4_K", R, "NEON"), "Q4_K", R)
	g.movi16b(3, 0x0F)
	g.rowStart(R, false)
	g.zero(4)
	g.zeroLanes(R)
	g.label("block")
	g.unpackScaleMinK4()
	g.kBlockStart(R, true)
	for j := 0; j < 8; j++ {
		g.loadW(16+32*(j/2), 7, 8)
		if j%2 == 0 {
			g.and(7, 7, 3)
			g.and(8, 8, 3)
		} else {
			g.ushr(B16, 7, 7, 4)
			g.ushr(B16, 8, 8, 4)
		}
		g.step32(R, 7, 8, j)
	}
	g.scaleMinEnd(R)
	g.op("ADD $144, R1")
	g.loopEnd("block")
	g.finish(R, 4, 5, 6)
	g.rowEnd(R)
	g.op("RET")
}

// genQ5_K: as Q4_K with quants at 48, and bit j of byte k of the 32 bytes
// at 16 the fifth bit of element k of sub-block j.
func genQ5_K(g *gen, R int) {
	g.kStart(kname("dotQ5_K", R, "NEON"), "Q5_K", R)
	const c1, qh0, qh1, hb = 3, 12, 13, 14
	g.movi16b(c1, 1)
	g.rowStart(R, false)
	g.zero(4)
	g.zeroLanes(R)
	g.label("block")
	g.unpackScaleMinK4()
	g.loadW(16, qh0, qh1)
	g.kBlockStart(R, true)
	for j := 0; j < 8; j++ {
		g.loadW(48+32*(j/2), 7, 8)
		for _, p := range [][2]V{{7, qh0}, {8, qh1}} {
			w, qh := p[0], p[1]
			if j%2 == 1 {
				g.ushr(B16, w, w, 4)
			}
			src := qh
			if j > 0 {
				g.ushr(B16, hb, qh, j)
				src = hb
			}
			g.and(hb, src, c1)
			g.sli(B16, w, hb, 4)
		}
		g.step32(R, 7, 8, j)
	}
	g.scaleMinEnd(R)
	g.op("ADD $176, R1")
	g.loopEnd("block")
	g.finish(R, 4, 5, 6)
	g.rowEnd(R)
	g.op("RET")
}

// groupEnd ends a Q6_K/Q3_K block: float lanes from the f16 d at off, and
// the rows' group sums skipped.
func (g *gen) groupEnd(R, off int, x, dd V) {
	g.op("MOVHU %d(R1), R12", off)
	g.insGP(1, x, 0, 12)
	g.fcvt(0, 3, x, x)
	g.lanesUpdate(R, x, 0, dd)
	for t := 0; t < R; t++ {
		g.op("ADD $32, R%d", 2+t)
	}
}

// genQ6_K: for half h and quarter s, element 128h+32s+k has the low
// nibble (s/2) of ql byte 64h+32(s%2)+k and bits 2s..2s+1 of qh byte 32h+k,
// minus 32; signed scales per group of 16 at 192, d at 208.
func genQ6_K(g *gen, R int) {
	g.kStart(kname("dotQ6_K", R, "NEON"), "Q6_K", R)
	const c3, c32, qh0, qh1, w0, w1, hb, x, dd = 3, 4, 5, 6, 7, 8, 12, 13, 14
	g.movi16b(c3, 3)
	g.movi16b(c32, 32)
	g.rowStart(R, false)
	g.zeroLanes(R)
	g.label("block")
	g.op("FMOVQ 192(R1), %s", V(x).F())
	g.sxtl(B8, 0, x)
	g.sxtl(B16, 1, x)
	g.kBlockStart(R, true)
	for h := 0; h < 2; h++ {
		g.loadW(128+32*h, qh0, qh1)
		for s := 0; s < 4; s++ {
			g.loadW(64*h+32*(s%2), w0, w1)
			for _, p := range [][2]V{{w0, qh0}, {w1, qh1}} {
				w, qh := p[0], p[1]
				if s >= 2 {
					g.ushr(B16, w, w, 4)
				}
				g.field2(hb, qh, c3, 2*s)
				g.sli(B16, w, hb, 4)
				g.sub(B16, w, w, c32)
			}
			g.step16x2(R, w0, w1, 8*h+2*s, aux)
		}
	}
	g.groupEnd(R, 208, x, dd)
	g.op("ADD $210, R1")
	g.loopEnd("block")
	g.finish(R, 0, x, dd)
	g.rowEnd(R)
	g.op("RET")
}

// genQ3_K: for half h and quarter s, element 128h+32s+k has bits 2s..2s+1
// of qs byte 32h+k (qs at 32) and, unless bit 4h+s of hmask byte k (at 0)
// is set, 4 subtracted; 6-bit scales minus 32 packed in the 12 bytes at
// 96 (q3Scales), d at 108.
func genQ3_K(g *gen, R int) {
	g.kStart(kname("dotQ3_K", R, "NEON"), "Q3_K", R)
	const c3, c1, c4, hm0, hm1, qs0, qs1, w0, w1, hb = 3, 4, 5, 6, 7, 8, 9, 10, 11, 12
	// This kernel needs V9..V11 for weights: its activations use V13..V15.
	g.movi16b(c3, 3)
	g.movi16b(c1, 1)
	g.movi16b(c4, 4)
	g.rowStart(R, false)
	g.zeroLanes(R)
	g.label("block")
	g.op("MOVWU 96(R1), R12")  // aux0
	g.op("MOVWU 100(R1), R13") // aux1
	g.op("MOVWU 104(R1), R14") // tmp
	for i, e := range []struct{ src, lsh, hsh int }{{12, 0, 0}, {13, 0, 2}, {12, 4, 4}, {13, 4, 6}} {
		// scales 4i..4i+3: (aux >> lsh) & 0x0f0f0f0f | ((tmp >> hsh) & 0x03030303) << 4
		r, lo, hi := 19+i, e.src, 14
		if e.lsh > 0 {
			g.op("LSRW $%d, R%d, R%d", e.lsh, e.src, r)
			lo = r
		}
		g.op("ANDW $0x0f0f0f0f, R%d, R%d", lo, r)
		if e.hsh > 0 {
			g.op("LSRW $%d, R14, R15", e.hsh)
			hi = 15
		}
		g.op("ANDW $0x03030303, R%d, R15", hi)
		g.op("ORRW R15<<4, R%d, R%d", r, r)
	}
	g.op("ORR R20<<32, R19, R19")
	g.op("ORR R22<<32, R21, R21")
	g.insGP(3, w0, 0, 19)
	g.insGP(3, w0, 1, 21)
	g.movi16b(w1, 32)
	g.sub(B16, w0, w0, w1)
	g.sxtl(B8, 0, w0)
	g.sxtl(B16, 1, w0)
	g.loadW(0, hm0, hm1)
	g.kBlockStart(R, true)
	for h := 0; h < 2; h++ {
		g.loadW(32+32*h, qs0, qs1)
		for s := 0; s < 4; s++ {
			for _, p := range [][3]V{{w0, qs0, hm0}, {w1, qs1, hm1}} {
				w, qs, hm := p[0], p[1], p[2]
				g.field2(w, qs, c3, 2*s)
				src := hm
				if b := 4*h + s; b > 0 {
					g.ushr(B16, hb, hm, b)
					src = hb
				}
				g.and(hb, src, c1)
				g.sli(B16, w, hb, 2)
				g.sub(B16, w, w, c4)
			}
			g.step16x2q3(R, w0, w1, 8*h+2*s)
		}
	}
	g.groupEnd(R, 108, qs0, qs1)
	g.op("ADD $110, R1")
	g.loopEnd("block")
	g.finish(R, 0, qs0, qs1)
	g.rowEnd(R)
	g.op("RET")
}

// step16x2q3 is step16x2 with the activations in V13..V15.
func (g *gen) step16x2q3(R int, w0, w1 V, grp int) {
	const a0, a1, tt = 13, 14, 15
	for t := 0; t < R; t++ {
		x0, x1 := aux(t)
		g.op("VLD1.P 32(R%d), %s", 2+t, list(a0, a1))
		for i, p := range [][2]V{{w0, a0}, {w1, a1}} {
			gi := grp + i
			g.smull(B8, tt, p[0], p[1])
			g.smlal(B16, tt, p[0], p[1])
			g.smlalElem(H4, x0, tt, V(gi/8), gi%8)
			g.smlalElem(H8, x1, tt, V(gi/8), gi%8)
		}
	}
}

// genQ2_K: for half h and quarter s, element 128h+32s+k is bits 2s..2s+1
// of qs byte 32h+k (qs at 16); group g's scale and min are the low and high
// nibbles of byte g; d at 80, dmin at 82. Per block sumf +=
// float32(float32(dall*isum) - float32(dmin*summs)).
func genQ2_K(g *gen, R int) {
	g.kStart(kname("dotQ2_K", R, "NEON"), "Q2_K", R)
	const c3, c0F, m0, m1, qs0, qs1, w0, w1, sum = 3, 4, 5, 6, 7, 8, 12, 13, 14
	g.movi16b(c3, 3)
	g.movi16b(c0F, 0x0F)
	g.rowStart(R, false)
	g.zero(sum)
	g.label("block")
	g.op("FMOVQ (R1), %s", V(w0).F())
	g.and(w1, w0, c0F)
	g.uxtl(B8, 0, w1)
	g.uxtl(B16, 1, w1)
	g.ushr(B16, w0, w0, 4)
	g.uxtl(B8, m0, w0)
	g.uxtl(B16, m1, w0)
	for t := 0; t < R; t++ {
		g.op("VLD1.P 4(R%d), V2.S[%d]", 2+t, t)
		g.zero(V(16 + t))
	}
	one := func(t int) (V, V) { return V(16 + t), V(16 + t) }
	for h := 0; h < 2; h++ {
		g.loadW(16+32*h, qs0, qs1)
		for s := 0; s < 4; s++ {
			for _, p := range [][2]V{{w0, qs0}, {w1, qs1}} {
				w, qs := p[0], p[1]
				g.field2(w, qs, c3, 2*s)
			}
			g.step16x2(R, w0, w1, 8*h+2*s, one)
		}
	}
	isum, summs := []V{16, 17, 18, 19}, []V{20, 21, 22, 23}
	g.minSums(R, m0, m1, w0, w1, summs)
	g.rowSums(isum[:R])
	const x, dall, dmin = 7, 8, 9
	g.loadHalves2(80, x) // d, dmin
	g.fmulElem(S4, dall, 2, x, 0)
	g.fmulElem(S4, dmin, 2, x, 1)
	g.scvtf(16, 16)
	g.scvtf(20, 20)
	g.fmul(S4, dall, dall, 16)
	g.fmul(S4, dmin, dmin, 20)
	g.fsub(S4, dall, dall, dmin)
	g.fadd(S4, sum, sum, dall)
	g.op("ADD $84, R1")
	g.loopEnd("block")
	g.storeSums(R, sum)
	g.rowEnd(R)
	g.op("RET")
}
