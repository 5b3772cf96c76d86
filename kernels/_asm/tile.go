package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The tiled kernels of batched MatMul. Weights of the 32-element formats are
// first repacked, a pair of rows at a time, into signed bytes and float32
// scales: per block, 72 bytes [q of row 0 (32)][q of row 1 (32)][d0][d1].
// The tile kernel then multiplies each pair with four activation rows, so
// that every weight block is unpacked once per MatMul (not once per four
// tokens) and every activation block loaded once per two weight rows. Each
// of the eight (row, token) results keeps its own eight float32 lanes and
// the very order of the one-row kernels: lane l += float(exact integer sum
// of elements 4l..4l+3) * (d_w*d_a) by one fused multiply-add per block.
// d_w*d_a is exact in float32 (two f16 values), so forming it per pair
// (VMULPS) rather than once per block changes no bit.
const pairBlock = 72

// genTile emits the repacking kernels and the 2x4 tile kernel.
func genTile() {
	maskF0 = constBytes("maskF0", splat32(0xF0))

	var allOnes VecVirtual
	genRepack("repackQ5_0AVX2", 22, func() { allOnes = YMM(); VPCMPEQB(allOnes, allOnes, allOnes) },
		func(w GPVirtual) VecVirtual { return q5Signed(w, allOnes) }, "repackQ5_0AVX2 writes the nb Q5_0 blocks at w as signed quants q-16 (32 bytes at q +",
		"72*b) and float32 scales (at d + 72*b bytes): one row of the pair layout.")
	genRepack("repackQ8_0AVX2", 34, func() {}, func(w GPVirtual) VecVirtual {
		v := YMM()
		VMOVDQU(Mem{Base: w, Disp: 2}, v)
		return v
	}, "repackQ8_0AVX2 copies the quants of the nb Q8_0 blocks at w to q + 72*b and their",
		"scales as float32 to d + 72*b bytes: one row of the pair layout.")

	TEXT("dotLanes2x4AVX2", NOSPLIT, "func(nb int, w *byte, pairs int, a *byte, astride int, ad *float32, adstride int, out *float32, ostride int)")
	Pragma("noescape")
	Doc("dotLanes2x4AVX2 multiplies 2*pairs repacked weight rows (pair p at w + p*72*nb) with the",
		"four Q8_0 activation rows at a + t*astride (float32 scales at ad + t*adstride bytes) and",
		"stores row r's dot with activation row t at out[t*ostride + r], in the lane order of",
		"dotQ8_0x1AVX2.")
	{
		pairs, w, out := loadGP("pairs"), loadGP("w"), loadGP("out")
		Label("pair")
		nb := loadGP("nb")
		a := loadActs(4)
		ad := loadRows(4, "ad", "adstride")
		acc := ymms(8) // acc[2*t+r]
		zero(acc...)
		blockLoop("blocks", nb, 1, func(int) {
			dw := ymms(2)
			for r := range dw {
				VBROADCASTSS(Mem{Base: w, Disp: 64 + 4*r}, dw[r])
			}
			abs := ymms(2)
			for r := range abs {
				VPABSB(Mem{Base: w, Disp: 32 * r}, abs[r])
			}
			for t := 0; t < 4; t++ {
				at, da := YMM(), YMM()
				VMOVDQU(a.at(t, 2), at)
				VBROADCASTSS(ad.at(t, 0), da)
				for r := 0; r < 2; r++ {
					p, d := YMM(), YMM()
					VPSIGNB(Mem{Base: w, Disp: 32 * r}, at, p)
					VPMADDUBSW(p, abs[r], p)
					VPMADDWD(ones16, p, p)
					VCVTDQ2PS(p, p)
					VMULPS(dw[r], da, d)
					VFMADD231PS(p, d, acc[2*t+r])
				}
			}
		}, func(int) {
			ADDQ(U32(pairBlock), w)
			ADDQ(U32(34), a.base)
			ADDQ(U32(4), ad.base)
		})
		os := loadGP("ostride")
		SHLQ(U8(2), os)
		o := GP64()
		MOVQ(out, o)
		for t := 0; t < 4; t++ {
			for r := 0; r < 2; r++ {
				x := XMM()
				hsumTo(acc[2*t+r], x)
				VMOVSS(x, Mem{Base: o, Disp: 4 * r})
			}
			ADDQ(os, o)
		}
		ADDQ(U32(8), out)
		DECQ(pairs)
		JNZ(LabelRef("pair"))
		VZEROUPPER()
		RET()
	}
}

// maskF0 holds 32 bytes 0xF0.
var maskF0 Mem

// q5Signed returns the 32 quants of the Q5_0 block at w as signed bytes
// q-16 (allOnes: all ones, in a register or in memory).
func q5Signed(w GPVirtual, allOnes Op) VecVirtual {
	v := nibbles(Mem{Base: w, Disp: 6})
	// Byte j gets 0xF0 where bit j of qh is clear: the nibble minus 16.
	b := highBits(Mem{Base: w, Disp: 2}, allOnes)
	VPANDN(maskF0, b, b)
	VPOR(b, v, v)
	return v
}

// genRepack emits a repacking kernel of blocks of size bytes whose f16
// scale comes first: setup runs once, quants returns a block's 32 signed
// quants.
func genRepack(name string, size int, setup func(), quants func(w GPVirtual) VecVirtual, doc ...string) {
	TEXT(name, NOSPLIT, "func(nb int, w, q *byte, d *float32)")
	Pragma("noescape")
	Doc(doc...)
	nb, w, q, d := loadGP("nb"), loadGP("w"), loadGP("q"), loadGP("d")
	setup()
	blockLoop("blocks", nb, 1, func(int) {
		VMOVDQU(quants(w), Mem{Base: q})
		VMOVSS(halfScalar(Mem{Base: w}), Mem{Base: d})
	}, func(int) {
		ADDQ(U32(size), w)
		ADDQ(U32(pairBlock), q)
		ADDQ(U32(pairBlock), d)
	})
	VZEROUPPER()
	RET()
}

// halfScalar converts the f16 at m to float32 in the low lane of a new
// register.
func halfScalar(m Mem) VecVirtual {
	x := XMM()
	VPBROADCASTW(m, x)
	VCVTPH2PS(x, x)
	return x
}
