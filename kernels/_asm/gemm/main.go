// Command gemm generates the float32 GEMM micro-kernel of package kernels
// with avo: the register tile that the training matrix products run on.
//
// Run `go generate` in this directory: it writes ../../gemm_amd64.s and the
// Go declarations ../../gemm_stubs_amd64.go. It is its own program, apart
// from the inference kernels' generator in .., so that the two outputs can
// be regenerated independently. The generated kernel has a pure-Go twin in
// package kernels (gemmTileGo), and the tests compare the two.
package main

//go:generate go run . -out ../../gemm_amd64.s -stubs ../../gemm_stubs_amd64.go -pkg kernels

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The register tile: gemmMR rows of A by gemmNR columns of B, held in
// gemmMR*gemmNR/8 YMM accumulators (12 of the 16), with two registers for
// a row of B and two for broadcasts of A.
const (
	gemmMR = 6
	gemmNR = 16
)

func main() {
	ConstraintExpr("!purego")
	genTile()
	Generate()
}

// genTile emits gemm6x16AVX2: C (6, 16) += A panel (k, 6) @ B panel (k, 16).
// Each of the 96 sums starts at zero, takes one fused multiply-add per k in
// order, and is then added to C: the order gemmTileFMA follows bit for bit.
func genTile() {
	name := fmt.Sprintf("gemm%dx%dAVX2", gemmMR, gemmNR)
	TEXT(name, NOSPLIT, "func(k int, a, b, c *float32, ldc int)")
	Pragma("noescape")
	Doc(name+" adds the product of a packed A panel (k, 6) and a packed B panel (k, 16) to",
		"the tile C (6, 16) at c with row stride ldc floats: for each k, a holds 6 floats",
		"(a column of A) and b 16 (a row of B). Each sum is accumulated from zero with one",
		"fused multiply-add per k, in k order, and then added to C.")
	k, a, b := Load(Param("k"), GP64()), Load(Param("a"), GP64()), Load(Param("b"), GP64())
	acc := make([][2]VecVirtual, gemmMR)
	for i := range acc {
		for j := range acc[i] {
			acc[i][j] = YMM()
			VXORPS(acc[i][j], acc[i][j], acc[i][j])
		}
	}
	step := func(p int) {
		b0, b1 := YMM(), YMM()
		VMOVUPS(Mem{Base: b, Disp: 4 * gemmNR * p}, b0)
		VMOVUPS(Mem{Base: b, Disp: 4*gemmNR*p + 32}, b1)
		for i := 0; i < gemmMR; i++ {
			t := YMM()
			VBROADCASTSS(Mem{Base: a, Disp: 4 * (gemmMR*p + i)}, t)
			VFMADD231PS(b0, t, acc[i][0])
			VFMADD231PS(b1, t, acc[i][1])
		}
	}
	const unroll = 4
	Label("main")
	CMPQ(k, U32(unroll))
	JL(LabelRef("tail"))
	for p := 0; p < unroll; p++ {
		step(p)
	}
	ADDQ(U32(4*gemmMR*unroll), a)
	ADDQ(U32(4*gemmNR*unroll), b)
	SUBQ(U32(unroll), k)
	JMP(LabelRef("main"))
	Label("tail")
	CMPQ(k, U32(0))
	JE(LabelRef("store"))
	step(0)
	ADDQ(U32(4*gemmMR), a)
	ADDQ(U32(4*gemmNR), b)
	DECQ(k)
	JMP(LabelRef("tail"))

	Label("store")
	c, ldc := Load(Param("c"), GP64()), Load(Param("ldc"), GP64())
	SHLQ(U8(2), ldc)
	for i := 0; i < gemmMR; i++ {
		for j := 0; j < 2; j++ {
			x := YMM()
			VMOVUPS(Mem{Base: c, Disp: 32 * j}, x)
			VADDPS(acc[i][j], x, x)
			VMOVUPS(x, Mem{Base: c, Disp: 32 * j})
		}
		if i < gemmMR-1 {
			ADDQ(ldc, c)
		}
	}
	VZEROUPPER()
	RET()
}
