package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// sigQ returns the signature of a dot kernel over T activation rows: with
// one, it multiplies rows consecutive weight rows (wstride bytes apart) and
// stores row r's dot at out[r]; with four, one weight row and stores
// activation row t's dot at out[t*ostride].
func sigQ(T int) string {
	if T == 1 {
		return "func(nb int, w *byte, wstride, rows int, a *byte, out *float32)"
	}
	return "func(nb int, w, a *byte, astride int, out *float32, ostride int)"
}

// sigQ8 is sigQ for kernels with Q8_0 activations, which also take the
// activations' block scales as float32: row t's at ad + t*adstride bytes.
func sigQ8(T int) string {
	if T == 1 {
		return "func(nb int, w *byte, wstride, rows int, a *byte, ad *float32, out *float32)"
	}
	return "func(nb int, w, a *byte, astride int, ad *float32, adstride int, out *float32, ostride int)"
}

// kernelText starts a dot kernel over T activation rows. A one-row kernel
// loops over weight rows: its body starts at the label "row" and loads its
// arguments there, and storeWith ends each row by advancing the w, out and
// rows arguments in place (so that the row loop costs no call per row).
func kernelText(name, sig string, T int) {
	TEXT(name, NOSPLIT, sig)
	Pragma("noescape")
	if T == 1 {
		Label("row")
	}
}

// dotOpening emits the TEXT and doc of the T-row dot kernel of weight
// format against activations of format act (Q8_0 kernels also take the
// activations' float32 scales) and loads nb, w and the activation rows.
func dotOpening(format, act string, T int) (nb, w GPVirtual, a acts) {
	name := fmt.Sprintf("dot%sx%dAVX2", format, T)
	sig, blocks := sigQ(T), "blocks"
	switch act {
	case "Q8_0":
		sig = sigQ8(T)
	case "Q8_K":
		blocks = "super-blocks"
	}
	kernelText(name, sig, T)
	Doc(fmt.Sprintf("%s writes out[t] = %s row w . %s activation row t (at a + t*astride) for t < %d, over nb %s.", name, format, act, T, blocks), outDoc(T))
	nb = loadGP("nb")
	w = loadGP("w")
	return nb, w, loadActs(T)
}

// zeroAccs returns T zeroed accumulators.
func zeroAccs(T int) []VecVirtual {
	acc := ymms(T)
	zero(acc...)
	return acc
}

// unrollFor picks how many blocks a T-row kernel handles per loop iteration.
// Each activation row has one accumulator whatever T is, so that a row's
// result does not depend on how many rows are computed together.
func unrollFor(T int) int {
	if T == 1 {
		return 2
	}
	return 1
}

// accFor returns the accumulator of activation row t.
func accFor(acc []VecVirtual, T, t, u int) VecVirtual { return acc[t] }

// finishAcc stores the sums and returns.
func finishAcc(acc []VecVirtual, T int) {
	storeOuts(acc)
	VZEROUPPER()
	RET()
}

// scaleAccTotal adds float(sum of the lanes of sumi) * (dw * d of the
// activation row, the float32 at m) to the low lane of acc with one fused
// multiply-add: a whole block's exact integer dot, scaled once, the way
// llama.cpp's repacked Q4_0 and Q4_K kernels accumulate.
func scaleAccTotal(dw VecVirtual, m Mem, sumi, acc VecVirtual) {
	dy := XMM()
	VMOVSS(m, dy)
	VMULSS(dy, dw.AsX(), dy)
	s := hsumI32(sumi)
	VCVTDQ2PS(s, s)
	VFMADD231SS(s, dy, acc.AsX())
}

// scaleAcc adds (dw * d of activation row t) * float(sumi) to acc, where the
// activation's scale (as float32) is at m.
func scaleAcc(dw VecVirtual, m Mem, sumi, acc VecVirtual) {
	dy := YMM()
	VBROADCASTSS(m, dy)
	VMULPS(dy, dw, dy)
	VCVTDQ2PS(sumi, sumi)
	VFMADD231PS(sumi, dy, acc)
}

// genQ8_0 emits the Q8_0 x Q8_0 dot products: per block of 32, the integer
// dot of the quants (via the sign trick: |w| as unsigned bytes times a with
// w's sign, so weights may hold -128; activations must be in [-127, 127], as
// the Q8_0 quantizer guarantees), scaled by d_w*d_a in float32.
func genQ8_0() {
	for _, T := range []int{1, 4} {
		nb, w, a := dotOpening("Q8_0", "Q8_0", T)
		ad := loadRows(T, "ad", "adstride")
		acc := zeroAccs(T)
		ones := YMM()
		VMOVDQU(ones16, ones)
		blockLoop("blocks", nb, unrollFor(T), func(u int) {
			off := 34 * u
			prefetch(w, off)
			x, ax := YMM(), YMM()
			VMOVDQU(Mem{Base: w, Disp: off + 2}, x)
			VPSIGNB(x, x, ax)
			dw := halfBroadcast(Mem{Base: w, Disp: off})
			for t := 0; t < T; t++ {
				y := YMM()
				VMOVDQU(a.at(t, off+2), y)
				VPSIGNB(x, y, y)
				VPMADDUBSW(y, ax, y)
				VPMADDWD(ones, y, y)
				scaleAcc(dw, ad.at(t, 4*u), y, accFor(acc, T, t, u))
			}
		}, func(k int) {
			ADDQ(U32(34*k), w)
			ADDQ(U32(34*k), a.base)
			ADDQ(U32(4*k), ad.base)
		})
		finishAcc(acc, T)
	}
}

// nibbleShift shifts the high 128-bit lane right by 4 (VPSRLVD counts).
var nibbleShift Mem

// nibbles loads the 16 bytes at m and returns their 32 nibbles as bytes:
// low nibbles in the low lane, high nibbles in the high lane (one
// broadcast load, one variable shift, one mask).
func nibbles(m Mem) VecVirtual {
	q := YMM()
	VBROADCASTI128(m, q)
	VPSRLVD(nibbleShift, q, q)
	VPAND(mask0F, q, q)
	return q
}

// highBits spreads the 32 bits of the little-endian word at m to bytes:
// byte j is 0xFF where bit j is set and 0 elsewhere (allOnes holds all
// ones: a register or a constant in memory).
func highBits(m Mem, allOnes Op) VecVirtual {
	b := YMM()
	VPBROADCASTD(m, b)
	VPSHUFB(shufBitsM, b, b)
	VPOR(bitMaskM, b, b)
	VPCMPEQB(allOnes, b, b)
	return b
}

// shufBitsM and bitMaskM spread the 32 high bits of a Q5_0 block to bytes.
var shufBitsM, bitMaskM Mem

// genQK32 emits Q4_0 and Q5_0 x Q8_0: the unsigned quants q are dotted with
// the activations by VPMADDUBSW and the offset (8 or 16) times the sum of
// the activations subtracted, which is exact for any int8 activations.
func genQK32() {
	shufBits := make([]byte, 32)
	for j := range shufBits {
		shufBits[j] = byte(j / 8)
	}
	nibbleShift = GLOBL("nibbleShift", RODATA|NOPTR)
	for i := 0; i < 8; i++ {
		DATA(4*i, U32(uint32(4*(i/4))))
	}
	shufBitsM = constBytes("shufBits", shufBits)
	bitMask := make([]byte, 32)
	for j := range bitMask {
		bitMask[j] = ^byte(1 << (j % 8))
	}
	bitMaskM = constBytes("bitMask", bitMask)
	c08 := constBytes("splat08", splat32(8))

	for _, f := range []struct {
		name   string
		size   int
		offset Mem
		high   bool
		total  bool // accumulate whole-block sums in one float (scaleAccTotal)
	}{{"Q4_0", 18, c08, false, true}, {"Q5_0", 22, mask10, true, false}} {
		for _, T := range []int{1, 4} {
			nb, w, a := dotOpening(f.name, "Q8_0", T)
			ad := loadRows(T, "ad", "adstride")
			acc := zeroAccs(T)
			ones, offs := YMM(), YMM()
			VMOVDQU(ones16, ones)
			VMOVDQU(f.offset, offs)
			var allOnes VecVirtual
			if f.high {
				allOnes = YMM()
				VPCMPEQB(allOnes, allOnes, allOnes)
			}
			qs := 2
			if f.high {
				qs = 6
			}
			blockLoop("blocks", nb, unrollFor(T), func(u int) {
				off := f.size * u
				if u == 0 {
					prefetch(w, off)
				}
				q := nibbles(Mem{Base: w, Disp: off + qs})
				if f.high {
					// Byte j gets 0x10 where bit j of the 32-bit qh is set.
					b := highBits(Mem{Base: w, Disp: off + 2}, allOnes)
					VPAND(mask10, b, b)
					VPOR(b, q, q)
				}
				dw := halfBroadcast(Mem{Base: w, Disp: off})
				ps := ymms(T)
				for t, p := range ps {
					o := YMM()
					VPMADDUBSW(a.at(t, off/f.size*34+2), q, p)
					VPMADDUBSW(a.at(t, off/f.size*34+2), offs, o)
					VPSUBW(o, p, p)
					VPMADDWD(ones, p, p)
					if f.total && T == 4 {
						continue
					}
					if f.total {
						scaleAccTotal(dw, ad.at(t, 4*u), p, accFor(acc, T, t, u))
					} else {
						scaleAcc(dw, ad.at(t, 4*u), p, accFor(acc, T, t, u))
					}
				}
				if f.total && T == 4 {
					totals4(ps, dw, ad, 0, acc[0])
				}
			}, func(k int) {
				ADDQ(U32(f.size*k), w)
				ADDQ(U32(34*k), a.base)
				ADDQ(U32(4*k), ad.base)
			})
			if f.total && T == 4 {
				store4(acc[0])
				VZEROUPPER()
				RET()
				continue
			}
			if f.total {
				storeWith(acc, func(v, dst VecVirtual) { VMOVAPS(v.AsX(), dst) })
				VZEROUPPER()
				RET()
				continue
			}
			finishAcc(acc, T)
		}
	}
}

// totals4 is scaleAccTotal for four activation rows at once: lane t of acc
// gets float(sum of the lanes of ps[t]) * (dw * d_t) by one fused
// multiply-add, with d_t the float32 scale at disp in scale row t. Lane by
// lane this rounds exactly as scaleAccTotal does.
func totals4(ps []VecVirtual, dw VecVirtual, a acts, disp int, acc VecVirtual) {
	VPHADDD(ps[1], ps[0], ps[0])
	VPHADDD(ps[3], ps[2], ps[2])
	VPHADDD(ps[2], ps[0], ps[0]) // lane t of each half: a partial sum of row t
	x := XMM()
	VEXTRACTI128(U8(1), ps[0], x)
	VPADDD(ps[0].AsX(), x, x)
	VCVTDQ2PS(x, x)
	d := XMM()
	VMOVSS(a.at(0, disp), d)
	for t := 1; t < 4; t++ {
		VINSERTPS(U8(t<<4), a.at(t, disp), d, d)
	}
	VMULPS(d, dw.AsX(), d)
	VFMADD231PS(x, d, acc.AsX())
}

// store4 stores lane t of acc at out[t*ostride].
func store4(acc VecVirtual) {
	out, os := loadGP("out"), loadGP("ostride")
	VMOVSS(acc.AsX(), Mem{Base: out})
	VEXTRACTPS(U8(1), acc.AsX(), Mem{Base: out, Index: os, Scale: 4})
	VEXTRACTPS(U8(2), acc.AsX(), Mem{Base: out, Index: os, Scale: 8})
	LEAQ(Mem{Base: os, Index: os, Scale: 2}, os)
	VEXTRACTPS(U8(3), acc.AsX(), Mem{Base: out, Index: os, Scale: 4})
}
