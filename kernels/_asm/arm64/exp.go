package main

import (
	"encoding/binary"
	"math"
)

// exp and SwiGLU with the bits of Go's math.Exp on arm64 (the assembly
// archExp of package math: argument reduction with fused multiply-adds, the
// rational approximation with one division, an inlined Ldexp, and its
// special cases for NaN, overflow, underflow and arguments near zero),
// computed in two float64 lanes with the same operations in the same order
// and the special cases selected by masks.

func genExp(g *gen) {
	genExpKernel(g)
	genSwiGLU(g)
}

// Constants of archExp, as pairs in V20..V27 and full vectors in V28..V31.
var expConsts = []float64{
	1.44269504088896338700e+00, 6.93147180369123816490e-01, // V20: Log2e, Ln2Hi
	1.90821492927058770002e-10, 4.13813679705723846039e-08, // V21: Ln2Lo, P5
	-1.65339022054652515390e-06, 6.61375632143793436117e-05, // V22: P4, P3
	-2.77777777770155933842e-03, 1.66666666666666657415e-01, // V23: P2, P1
	0.5, -0.5, // V24
	2, 1, // V25
	7.09782712893383973096e+02, -7.45133219101941108420e+02, // V26: Overflow, Underflow
	0x1p-28, 0x1p-52, // V27: NearZero, the denormal scale
}

// loadExpConsts loads the constants into V20..V31 using R12.
func (g *gen) loadExpConsts() {
	if g.expSym == "" {
		b := make([]byte, 8*len(expConsts)+4*16)
		for i, c := range expConsts {
			binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(c))
		}
		ints := b[8*len(expConsts):]
		for i, c := range []uint64{1<<52 - 1, 52, 1, 0x7ff0000000000000} { // V28..V31
			binary.LittleEndian.PutUint64(ints[16*i:], c)
			binary.LittleEndian.PutUint64(ints[16*i+8:], c)
		}
		g.expSym = g.data("expconsts", b)
	}
	g.op("MOVD $%s, R12", g.expSym)
	g.op("VLD1.P 64(R12), %s", list(20, 21, 22, 23))
	g.op("VLD1.P 64(R12), %s", list(24, 25, 26, 27))
	g.op("VLD1 (R12), %s", list(28, 29, 30, 31))
}

// exp2d leaves in out the exponentials of the two float64 lanes of x,
// using V6..V16.
func (g *gen) exp2d(x, out V) {
	const a, b, k, ki, kf, hi, lo, r, t, c = 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
	// k = Log2e*x -/+ 0.5 (fused), by the sign of x.
	g.dupElem(D2, a, 24, 1)
	g.fmlaElem(D2, a, x, 20, 0)
	g.dupElem(D2, b, 24, 0)
	g.fmlaElem(D2, b, x, 20, 0)
	g.fcmlt0(D2, k, x)
	g.bsl(k, a, b)
	g.fcvtzs(D2, ki, k)
	g.scvtfv(D2, kf, ki)
	// r = hi - lo, hi = x - kf*Ln2Hi (fused), lo = kf*Ln2Lo.
	g.orr(hi, x, x)
	g.fmlsElem(D2, hi, kf, 20, 1)
	g.fmulElem(D2, lo, kf, 21, 0)
	g.fsub(D2, r, hi, lo)
	g.fmul(D2, t, r, r)
	// c = r - t*(P1+t*(P2+t*(P3+t*(P4+t*P5)))), each step fused.
	g.dupElem(D2, c, 22, 0)
	g.fmlaElem(D2, c, t, 21, 1)
	g.dupElem(D2, a, 22, 1)
	g.fmla(D2, a, t, c)
	g.dupElem(D2, b, 23, 0)
	g.fmla(D2, b, t, a)
	g.dupElem(D2, a, 23, 1)
	g.fmla(D2, a, t, b)
	g.orr(c, r, r)
	g.fmls(D2, c, t, a)
	// y = 1 - ((lo - r*c/(2-c)) - hi)
	g.dupElem(D2, a, 25, 0)
	g.fsub(D2, a, a, c)
	g.fmul(D2, b, r, c)
	g.fdiv(D2, b, b, a)
	g.fsub(D2, b, lo, b)
	g.fsub(D2, b, b, hi)
	g.dupElem(D2, a, 25, 1)
	g.fsub(D2, a, a, b) // y
	// Ldexp(y, k): the exponent field plus k, and where it drops below 1,
	// plus 52 with the result scaled by 2^-52.
	const e, m, one = 12, 13, 16
	g.and(b, a, 28)
	g.ushr(D2, e, a, 52)
	g.add(D2, e, e, ki)
	g.cmgt(D2, m, 30, e)
	g.and(t, m, 29)
	g.add(D2, e, e, t)
	g.dupElem(D2, c, 27, 1)
	g.dupElem(D2, one, 25, 1)
	g.bsl(m, c, one)
	g.shl(D2, e, e, 52)
	g.orr(e, e, b)
	g.fmul(D2, out, e, m)
	// |x| < 2^-28: 1 + x.
	g.fabsv(D2, a, x)
	g.dupElem(D2, b, 27, 0)
	g.fcmgt(D2, b, b, a)
	g.fadd(D2, one, one, x)
	g.bsl(b, one, out)
	g.orr(out, b, b)
	// x < Underflow: 0.
	g.dupElem(D2, b, 26, 1)
	g.fcmgt(D2, b, b, x)
	g.bic(out, out, b)
	// x > Overflow: +Inf.
	g.dupElem(D2, b, 26, 0)
	g.fcmgt(D2, b, x, b)
	g.bsl(b, 31, out)
	g.orr(out, b, b)
	// NaN: x.
	g.fcmeq(D2, b, x, x)
	g.bsl(b, out, x)
	g.orr(out, b, b)
}

// exp4 leaves in out the float32 exponentials of the 4 floats of x, using
// V1..V4 and those of exp2d.
func (g *gen) exp4(out, x V) {
	g.fcvtl(1, x, false, false)
	g.fcvtl(2, x, false, true)
	g.exp2d(1, 3)
	g.exp2d(2, 4)
	g.fcvtnD(out, 3, false)
	g.fcvtnD(out, 4, true)
}

func genExpKernel(g *gen) {
	g.fn("expNEON", "expNEON writes dst[i] = float32(math.Exp(float64(x[i]))) for 4*n4 floats,\nwith the bits of Go's arm64 math.Exp.", params("n4 int", "x *float32", "dst *float32"), nil)
	g.loadArgs("n4", "x", "dst")
	g.loadExpConsts()
	g.label("loop")
	g.op("VLD1.P 16(R1), [V0.B16]")
	g.exp4(5, 0)
	g.op("VST1.P [V5.B16], 16(R2)")
	g.op("SUBS $1, R0, R0")
	g.op("BNE loop")
	g.op("RET")
}

// genSwiGLU emits swigluNEON, the twin of swigluGo: gate = gate / (1 +
// float32(exp(-gate))) * up, each step rounded.
func genSwiGLU(g *gen) {
	g.fn("swigluNEON", "swigluNEON sets gate[i] = gate[i] / (1 + float32(math.Exp(float64(-gate[i])))) * up[i]\nfor 4*n4 floats, as swigluGo does on arm64.", params("n4 int", "gate *float32", "up *float32"), nil)
	g.loadArgs("n4", "gate", "up")
	g.loadExpConsts()
	g.label("loop")
	g.op("VLD1 (R1), [V18.B16]")
	g.op("VLD1.P 16(R2), [V19.B16]")
	g.fneg(S4, 0, 18)
	g.exp4(5, 0)
	g.fmov1(6)
	g.fadd(S4, 5, 5, 6)
	g.fdiv(S4, 5, 18, 5)
	g.fmul(S4, 5, 5, 19)
	g.op("VST1.P [V5.B16], 16(R1)")
	g.op("SUBS $1, R0, R0")
	g.op("BNE loop")
	g.op("RET")
}
