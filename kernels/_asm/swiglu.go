package main

import (
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// genSwiGLU emits swigluAVX2: gate = gate/(1 + e) * up with e =
// float32(math.Exp(float64(-gate))) computed by exp4 (Go's archExp, bit for
// bit), so that it gives the bits of the Go loop it replaces.
func genSwiGLU() {
	neg := constF64x4("negF64", math.Copysign(0, -1))
	TEXT("swigluAVX2", NOSPLIT, "func(n8 int, gate, up *float32)")
	Pragma("noescape")
	Doc("swigluAVX2 replaces gate[i] by gate[i] / (1 + float32(math.Exp(float64(-gate[i])))) * up[i]",
		"for 8*n8 floats.")
	n, g, u := loadGP("n8"), loadGP("gate"), loadGP("up")
	blockLoop("blocks", n, 1, func(int) {
		var half [2]VecVirtual
		for h := range half {
			xd := YMM()
			VCVTPS2PD(Mem{Base: g, Disp: 16 * h}, xd)
			VXORPD(neg, xd, xd) // -x: a sign flip, exact in either width
			half[h] = exp4(xd)
		}
		e, x := YMM(), YMM()
		VINSERTF128(U8(1), half[1], half[0].AsY(), e)
		VMOVUPS(Mem{Base: g}, x)
		VADDPS(one32, e, e)
		VDIVPS(e, x, x)
		VMULPS(Mem{Base: u}, x, x)
		VMOVUPS(x, Mem{Base: g})
	}, func(int) {
		ADDQ(U32(32), g)
		ADDQ(U32(32), u)
	})
	VZEROUPPER()
	RET()
}
