package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The eight-token kernels of batched MatMul for the small batches of
// continuous batching: one weight row times eight activation rows, the
// weights read in place (no repacking, whose cost a batch of 8 or 16
// tokens does not repay). Each weight block is unpacked once for all eight
// tokens into signed bytes and their absolute values; each (row, token)
// result keeps its own eight float32 lanes and the order of the one-row
// kernel: lane l += float(exact integer sum of elements 4l..4l+3) *
// (d_w*d_a) by one fused multiply-add per block, then hsumTo.

// sigEight is the signature of an eight-token kernel: rows weight rows at w
// + r*wstride, activation row t at a + t*astride with float32 block scales
// at ad + t*adstride bytes; row r's dot with activation row t is stored at
// out[t*ostride + r].
const sigEight = "func(nb int, w *byte, wstride, rows int, a *byte, astride int, ad *float32, adstride int, out *float32, ostride int)"

// eightRows addresses eight rows (activations or their scales): rows 0..3
// from lo and 4..7 from hi = lo + 4*stride.
type eightRows struct{ lo, hi acts }

// loadEight loads the base and stride arguments of eight rows.
func loadEight(base, stride string) eightRows {
	lo := loadRows(4, base, stride)
	hi := acts{T: 4, base: GP64(), stride: lo.stride, stride3: lo.stride3}
	LEAQ(Mem{Base: lo.base, Index: lo.stride, Scale: 4}, hi.base)
	return eightRows{lo, hi}
}

// at returns the address disp bytes into row t.
func (e eightRows) at(t, disp int) Mem {
	if t < 4 {
		return e.lo.at(t, disp)
	}
	return e.hi.at(t-4, disp)
}

// advance moves both bases n bytes on.
func (e eightRows) advance(n int) {
	ADDQ(U32(n), e.lo.base)
	ADDQ(U32(n), e.hi.base)
}

// genEight emits the eight-token kernels of Q8_0 and Q5_0 weights.
func genEight() {
	allOnes := constBytes("allOnes", splat32(0xFF))
	genEightQ("dotQ8_0x8AVX2", "Q8_0", 34, func(w GPVirtual) Op {
		q := YMM()
		VMOVDQU(Mem{Base: w, Disp: 2}, q)
		return q
	})
	genEightQ("dotQ5_0x8AVX2", "Q5_0", 22, func(w GPVirtual) Op { return q5Signed(w, allOnes) })
}

// genEightQ emits an eight-token kernel for a 32-element weight format of
// size bytes per block whose f16 scale comes first; quants returns a
// block's 32 quants as signed bytes (a register or memory).
func genEightQ(name, format string, size int, quants func(w GPVirtual) Op) {
	TEXT(name, NOSPLIT, sigEight)
	Pragma("noescape")
	Doc(name+" writes out[t*ostride + r] = "+format+" row r (at w + r*wstride) . Q8_0 activation row t",
		"(at a + t*astride, float32 scales at ad + t*adstride bytes) for t < 8 and r < rows, over nb",
		"blocks, each with the bits of the one-row kernel.")
	Label("row")
	nb, w := loadGP("nb"), loadGP("w")
	a := loadEight("a", "astride")
	ad := loadEight("ad", "adstride")
	acc := zeroAccs(8)
	ones := YMM()
	VMOVDQU(ones16, ones)
	blockLoop("blocks", nb, 1, func(int) {
		prefetch(w, 0)
		q := quants(w)
		aq := YMM()
		VPABSB(q, aq)
		dw := halfBroadcast(Mem{Base: w})
		for t := range acc {
			y := YMM()
			VMOVDQU(a.at(t, 2), y)
			VPSIGNB(q, y, y)
			VPMADDUBSW(y, aq, y)
			VPMADDWD(ones, y, y)
			scaleAcc(dw, ad.at(t, 0), y, acc[t])
		}
	}, func(int) {
		ADDQ(U32(size), w)
		a.advance(34)
		ad.advance(4)
	})
	out, os := loadGP("out"), loadGP("ostride")
	SHLQ(U8(2), os)
	o := GP64()
	MOVQ(out, o)
	for t := range acc {
		x := XMM()
		hsumTo(acc[t], x)
		VMOVSS(x, Mem{Base: o})
		if t < 7 {
			ADDQ(os, o)
		}
	}
	ADDQ(U32(4), out)
	Store(out, Param("out"))
	wp, ws, rows := loadGP("w"), loadGP("wstride"), loadGP("rows")
	ADDQ(ws, wp)
	Store(wp, Param("w"))
	DECQ(rows)
	Store(rows, Param("rows"))
	JNZ(LabelRef("row"))
	VZEROUPPER()
	RET()
}
