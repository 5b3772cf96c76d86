package main

import "fmt"

// Float kernels: f16 conversion and the stages of f16 attention, with the
// bits of their Go versions (FCVTN rounds to nearest even as
// quant.FP32ToFP16 does; FCVTL widens exactly).

func genFloat(g *gen) {
	genToF16(g)
	genAttnScores(g)
	genAttnAccum(g, 32)
	genAttnAccum(g, 8)
	genFloatDots(g)
}

func genToF16(g *gen) {
	g.fn("toF16NEON", "toF16NEON converts 8*n8 floats at src to halves at dst, rounding to\nnearest even.", params("n8 int", "src *float32", "dst *uint16"), nil)
	g.loadArgs("n8", "src", "dst")
	g.label("loop")
	g.op("VLD1.P 32(R1), %s", list(0, 1))
	g.narrowH(2, 0, 1)
	g.op("VST1.P [V2.B16], 16(R2)")
	g.op("SUBS $1, R0, R0")
	g.op("BNE loop")
	g.op("RET")
}

// genAttnScores emits attnScoresNEON, the twin of attnScoresGo for head
// sizes that are multiples of 8: per key, the float32 products q[i]*k[i]
// summed in float64 in 8 lanes (lane l takes i ≡ l mod 8) held as 4 pairs,
// reduced as attnDotGo does, rounded to float32 and scaled.
func genAttnScores(g *gen) {
	g.fn("attnScoresNEON", "attnScoresNEON writes s[j] = attnDotGo(q, key j) * scale for n keys of\n8*hk8 halves at k + j*kstride (bytes), q holding 8*hk8 floats.",
		params("n int", "hk8 int", "q *float32", "k *uint16", "kstride int", "scale float32", "s *float32"), nil)
	g.loadArgs("n", "hk8", "q", "k", "kstride", "s")
	g.op("FMOVS %s, F31", g.arg("scale"))
	g.label("key")
	g.op("MOVD R2, R6")
	g.op("MOVD R3, R7")
	g.op("MOVD R1, R8")
	g.zero(16, 17, 18, 19)
	g.label("inner")
	g.op("VLD1.P 32(R6), %s", list(0, 1))
	g.op("VLD1.P 16(R7), [V2.B16]")
	g.widenH(3, 4, 2)
	g.fmul(S4, 3, 0, 3)
	g.fmul(S4, 4, 1, 4)
	g.fcvtl(5, 3, false, false) // lanes 0, 1
	g.fcvtl(6, 3, false, true)  // 2, 3
	g.fcvtl(7, 4, false, false) // 4, 5
	g.fcvtl(8, 4, false, true)  // 6, 7
	for i := V(0); i < 4; i++ {
		g.fadd(D2, 16+i, 16+i, 5+i)
	}
	g.op("SUBS $1, R8, R8")
	g.op("BNE inner")
	g.fadd(D2, 16, 16, 18) // l0+l4, l1+l5
	g.fadd(D2, 17, 17, 19) // l2+l6, l3+l7
	g.fadd(D2, 16, 16, 17)
	g.faddp2d(16, 16)
	g.fcvt(0, 1, 16, 16)
	g.fmuls(16, 16, 31)
	g.op("FMOVS.P F16, 4(R5)")
	g.op("ADD R4, R3")
	g.op("SUBS $1, R0, R0")
	g.op("BNE key")
	g.op("RET")
}

// genAttnAccum emits attnAccum<C>NEON, the accumulator half of
// attnAccumGo for C columns (a multiple of 8) of the accumulator, which
// stays in registers (as halves) across the n positions: where up[j], the
// accumulator is rescaled by e[j] (rounded to f16) and value j added with
// weight 1; elsewhere value j is added with weight e[j]. Each step rounds
// through f16 as attnAccGo does.
func genAttnAccum(g *gen, C int) {
	name := fmt.Sprintf("attnAccum%dNEON", C)
	g.fn(name, fmt.Sprintf("%s applies n positions to %d f16 accumulator columns at acc as\nattnAccumGo does: values of position j at v + j*vstride (bytes), factor\ne[j], rescaling where up[j].", name, C),
		params("n int", "acc *uint16", "v *uint16", "vstride int", "e *float32", "up *bool"), nil)
	regs := C / 8
	acc, val := make([]V, regs), make([]V, regs)
	for i := range acc {
		acc[i], val[i] = V(i), V(4+i)
	}
	tmp := func(i int) (V, V, V, V) { b := V(8 + 4*i); return b, b + 1, b + 2, b + 3 }
	g.loadArgs("n", "acc", "v", "vstride", "e", "up")
	g.op("VLD1 (R1), %s", list(acc...))
	g.label("pos")
	g.op("FMOVS.P 4(R4), F28")
	g.op("MOVBU.P 1(R5), R6")
	g.op("VLD1 (R2), %s", list(val...))
	g.op("ADD R3, R2")
	g.op("CBZW R6, weigh")
	// The maximum grew: acc = f16(acc*e), then acc = f16(acc + v).
	for i, a := range acc {
		lo, hi, vlo, vhi := tmp(i)
		g.widenH(lo, hi, a)
		g.fmulElem(S4, lo, lo, 28, 0)
		g.fmulElem(S4, hi, hi, 28, 0)
		g.narrowH(a, lo, hi)
		g.widenH(lo, hi, a)
		g.widenH(vlo, vhi, val[i])
		g.fadd(S4, lo, lo, vlo)
		g.fadd(S4, hi, hi, vhi)
		g.narrowH(a, lo, hi)
	}
	g.op("B next")
	g.label("weigh")
	// acc = f16(acc + float32(v*e)).
	for i, a := range acc {
		lo, hi, vlo, vhi := tmp(i)
		g.widenH(lo, hi, a)
		g.widenH(vlo, vhi, val[i])
		g.fmulElem(S4, vlo, vlo, 28, 0)
		g.fmulElem(S4, vhi, vhi, 28, 0)
		g.fadd(S4, lo, lo, vlo)
		g.fadd(S4, hi, hi, vhi)
		g.narrowH(a, lo, hi)
	}
	g.label("next")
	g.op("SUBS $1, R0, R0")
	g.op("BNE pos")
	g.op("VST1 %s, (R1)", list(acc...))
	g.op("RET")
}

// genFloatDots emits the F16, BF16 and F32 dot kernels with the arithmetic
// of ggml's scalar path as quant specifies it: each product rounded to
// float32, and the products added to one float64 sum in order.
func genFloatDots(g *gen) {
	for _, typ := range []string{"F16", "BF16", "F32"} {
		name := "dot" + typ + "NEON"
		g.fn(name, name+" returns the float64 sum, in order, of the float32 products of the\nfirst 8*n8 "+typ+" values at w and a.", params("n8 int", "w *byte", "a *byte"), params("ret float64"))
		g.loadArgs("n8", "w", "a")
		g.zero(31)
		g.label("loop")
		switch typ {
		case "F32":
			g.op("VLD1.P 32(R1), %s", list(2, 3))
			g.op("VLD1.P 32(R2), %s", list(4, 5))
		case "F16":
			g.op("VLD1.P 16(R1), [V0.B16]")
			g.op("VLD1.P 16(R2), [V1.B16]")
			g.widenH(2, 3, 0)
			g.widenH(4, 5, 1)
		case "BF16":
			g.op("VLD1.P 16(R1), [V0.B16]")
			g.op("VLD1.P 16(R2), [V1.B16]")
			g.shll16(2, 0, false)
			g.shll16(3, 0, true)
			g.shll16(4, 1, false)
			g.shll16(5, 1, true)
		}
		g.fmul(S4, 2, 2, 4)
		g.fmul(S4, 3, 3, 5)
		g.fcvtl(6, 2, false, false)
		g.fcvtl(7, 2, false, true)
		g.fcvtl(8, 3, false, false)
		g.fcvtl(9, 3, false, true)
		for p := V(6); p <= 9; p++ {
			g.faddd(31, 31, p)
			g.movScalar(3, 10, p, 1)
			g.faddd(31, 31, 10)
		}
		g.op("SUBS $1, R0, R0")
		g.op("BNE loop")
		g.op("FMOVD F31, %s", g.arg("ret"))
		g.op("RET")
	}
}

// genRead emits the streaming-read kernel the bandwidth measurement uses.
func genRead(g *gen) {
	g.fn("readNEON", "readNEON reads 128*n128 bytes at p and returns the xor of their 64-bit\nwords, as readBytesGo does.", params("n128 int", "p *byte"), params("ret uint64"))
	g.loadArgs("n128", "p")
	g.zero(16, 17, 18, 19)
	g.label("loop")
	g.op("VLD1.P 64(R1), %s", list(0, 1, 2, 3))
	g.op("VLD1.P 64(R1), %s", list(4, 5, 6, 7))
	for i := V(0); i < 8; i++ {
		g.eor(16+i%4, 16+i%4, i)
	}
	g.op("SUBS $1, R0, R0")
	g.op("BNE loop")
	g.eor(16, 16, 17)
	g.eor(18, 18, 19)
	g.eor(16, 16, 18)
	g.op("FMOVD F16, R2")
	g.op("VMOV V16.D[1], R3")
	g.op("EOR R3, R2")
	g.op("MOVD R2, %s", g.arg("ret"))
	g.op("RET")
}
