package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
)

// genDelta emits deltaRuleAVX2, the gated delta rule of one head and one
// token over a state of S = 8*s8 rows of S floats, with the arithmetic of
// deltaRuleGo: per row, the decayed row and its dot with k in two
// accumulators (chunks of 8 alternating, products rounded before the add),
// the update dj = (v_j - dot) * beta, the updated row and its dot with q.
func genDelta() {
	TEXT("deltaRuleAVX2", NOSPLIT, "func(s8 int, state, q, k, v, o *float32, decay, beta float32)")
	Pragma("noescape")
	Doc("deltaRuleAVX2 applies deltaRuleGo to a state of 8*s8 rows of 8*s8 floats; s8 must be positive.")
	s8 := loadGP("s8")
	sp, vp, op := loadGP("state"), loadGP("v"), loadGP("o")
	decay, dx, beta := YMM(), XMM(), XMM()
	Load(Param("decay"), dx)
	VBROADCASTSS(dx, decay)
	Load(Param("beta"), beta)
	rows := GP64()
	MOVQ(s8, rows)
	SHLQ(U8(3), rows)
	Label("row")
	kp, n := loadGP("k"), GP64()
	acc := zeroAccs(2)
	MOVQ(s8, n)
	blockLoop("decay", n, 2, func(u int) {
		r, t := YMM(), YMM()
		VMULPS(Mem{Base: sp, Disp: 32 * u}, decay, r)
		VMOVUPS(r, Mem{Base: sp, Disp: 32 * u})
		VMULPS(Mem{Base: kp, Disp: 32 * u}, r, t)
		VADDPS(t, acc[u], acc[u])
	}, func(k int) {
		ADDQ(U32(32*k), sp)
		ADDQ(U32(32*k), kp)
	})
	dot := XMM()
	VADDPS(acc[1], acc[0], acc[0])
	hsumTo(acc[0], dot)
	dj := XMM()
	VMOVSS(Mem{Base: vp}, dj)
	VSUBSS(dot, dj, dj)
	VMULSS(beta, dj, dj)
	djv := YMM()
	VBROADCASTSS(dj, djv)

	// Back to the row's start for the update.
	back := GP64()
	MOVQ(s8, back)
	SHLQ(U8(5), back)
	SUBQ(back, sp)
	kp, qp := loadGP("k"), loadGP("q")
	acc = zeroAccs(2)
	MOVQ(s8, n)
	blockLoop("update", n, 2, func(u int) {
		r, t := YMM(), YMM()
		VMULPS(Mem{Base: kp, Disp: 32 * u}, djv, r)
		VADDPS(Mem{Base: sp, Disp: 32 * u}, r, r)
		VMOVUPS(r, Mem{Base: sp, Disp: 32 * u})
		VMULPS(Mem{Base: qp, Disp: 32 * u}, r, t)
		VADDPS(t, acc[u], acc[u])
	}, func(k int) {
		ADDQ(U32(32*k), sp)
		ADDQ(U32(32*k), kp)
		ADDQ(U32(32*k), qp)
	})
	out := XMM()
	VADDPS(acc[1], acc[0], acc[0])
	hsumTo(acc[0], out)
	VMOVSS(out, Mem{Base: op})
	ADDQ(U32(4), vp)
	ADDQ(U32(4), op)
	DECQ(rows)
	JNZ(LabelRef("row"))
	VZEROUPPER()
	RET()
}
