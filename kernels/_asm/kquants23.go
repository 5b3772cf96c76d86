package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// genQ2Q3 emits Q2_K and Q3_K x Q8_K for T activation rows: per 32 quants,
// VPMADDUBSW with the activations and the 16-element group scales applied
// by VPMADDWD; Q3_K then accumulates as llama.cpp's AVX2 vec_dot (one FMA
// of the 8 lanes per super-block), Q2_K as its AVX-512 build's repacked
// kernels (genQ2_K).
func genQ2Q3(shufQ6 *[4]Mem) {
	mask03 := constBytes("mask03", splat32(0x03))
	m32 := constBytes("splat32b", splat32(32))
	fours = constBytes("splat04", splat32(4))
	for _, T := range []int{1, 4} {
		genQ2_K(T, shufQ6, mask03)
		genQ3_K(T, shufQ6, mask03, m32)
	}
}

var fours Mem

// groupScales broadcasts the 8 int16 group scales of half h of sc (16 int16)
// to both 128-bit lanes.
func groupScales(sc VecVirtual, h int) VecVirtual {
	s := YMM()
	VPERMQ(U8([]int{0x44, 0xEE}[h]), sc, s)
	return s
}

// genQ2_K emits Q2_K x Q8_K in the order of the repacked Q2_K kernels of
// llama.cpp's AVX-512 build (dotQ2_KRepacked): the integer sums of the
// quants (S) and of the mins times the bsums (M) are taken per block for
// one row (gemv), per half block for four rows (gemm), and [acc, accm] +=
// [S, M] * [d, dmin]*d_a by one fused multiply-add each time; the result is
// acc - accm.
func genQ2_K(T int, shufQ6 *[4]Mem, mask03 Mem) {
	nb, w, a := dotOpening("Q2_K", "Q8_K", T)
	var acc []VecVirtual
	var rowsAcc rowAccs
	halves := 1 // sums per block: 1 (gemv) or 2 (gemm, the rows in the accumulators' lanes)
	if T > 1 {
		halves = 2
		rowsAcc = newRowAccs()
	} else {
		acc = zeroAccs(T)
	}
	blockLoop("blocks", nb, 1, func(int) {
		prefetch(w, 0)
		prefetch(w, 64)
		sc, mins := YMM(), YMM()
		VMOVDQU(Mem{Base: w}, sc.AsX())
		VPSRLW(U8(4), sc.AsX(), mins.AsX())
		VPAND(mask0F.Offset(0), sc.AsX(), sc.AsX())
		VPAND(mask0F.Offset(0), mins.AsX(), mins.AsX())
		VPMOVZXBW(sc.AsX(), sc)
		VPMOVZXBW(mins.AsX(), mins)
		sumi := ymms(T)
		var wsc, dS, dM VecVirtual
		if halves == 1 {
			wsc = XMM()
			VMOVD(Mem{Base: w, Disp: 80}, wsc)
			VCVTPH2PS(wsc, wsc) // [d, dmin, 0, 0]
		} else {
			dS, dM = rowsAcc.blockScales(a, w, 80, 82)
		}
		// scaleSums adds [S, M] of the quants summed in sumi and of the mins
		// of the 16-element groups [8h, 8h+8) (all 16 for one row) to the
		// accumulators.
		scaleSums := func(h int) {
			if halves == 2 {
				ms := make([]VecVirtual, T)
				for t := 0; t < T; t++ {
					p := YMM()
					VPMADDWD(a.at(t, 260), mins, p) // lane l: groups 2l, 2l+1
					ms[t] = XMM()
					VEXTRACTI128(U8(h), p, ms[t])
				}
				rowsAcc.addM(rowTotals(ms, false), dM)
				rowsAcc.addS(rowTotals(sumi, true), dS)
				return
			}
			p, x, d := YMM(), XMM(), XMM()
			VPMADDWD(a.at(0, 260), mins, p)
			VPHADDD(p, sumi[0], p) // per half: [s, s, m, m]
			VEXTRACTI128(U8(1), p, x)
			VPADDD(p.AsX(), x, x)
			VPHADDD(x, x, x) // [S, M, S, M]
			VCVTDQ2PS(x, x)
			VBROADCASTSS(a.at(0, 0), d)
			VMULPS(wsc, d, d)
			VFMADD231PS(x, d, acc[0].AsX())
		}
		zero(sumi...)
		for h := 0; h < 2; h++ {
			scH := groupScales(sc, h)
			bits := YMM()
			VMOVDQU(Mem{Base: w, Disp: 16 + 32*h}, bits)
			for s := 0; s < 4; s++ {
				q, scv := YMM(), YMM()
				if s == 0 {
					VPAND(mask03, bits, q)
				} else {
					VPSRLW(U8(2*s), bits, q)
					VPAND(mask03, q, q)
				}
				VPSHUFB(shufQ6[s], scH, scv)
				groupDot(a, 4+128*h+32*s, q, scv, sumi)
			}
			if halves == 2 {
				scaleSums(h)
				if h == 0 {
					zero(sumi...)
				}
			}
		}
		if halves == 1 {
			scaleSums(0)
		}
	}, advanceK(w, 84, a))
	if halves == 2 {
		rowsAcc.store()
		VZEROUPPER()
		RET()
		return
	}
	storeWith(acc, func(v, dst VecVirtual) {
		VMOVSHDUP(v.AsX(), dst)
		VSUBSS(dst, v.AsX(), dst) // acc - accm
	})
	VZEROUPPER()
	RET()
}

func genQ3_K(T int, shufQ6 *[4]Mem, mask03, m32 Mem) {
	nb, w, a := dotOpening("Q3_K", "Q8_K", T)
	acc := zeroAccs(T)
	blockLoop("blocks", nb, 1, func(int) {
		prefetch(w, 0)
		prefetch(w, 64)
		// The 16 6-bit scales, as llama.cpp's kmask shuffle: a0, a1, a2
		// are the 12 packed bytes.
		a0, a1, a2, t0, t1 := GP32(), GP32(), GP32(), GP32(), GP32()
		MOVL(Mem{Base: w, Disp: 96}, a0)
		MOVL(Mem{Base: w, Disp: 100}, a1)
		MOVL(Mem{Base: w, Disp: 104}, a2)
		sc := YMM()
		word := func(i int, lo GPVirtual, loShift, hiShift int) {
			MOVL(lo, t0)
			if loShift > 0 {
				SHRL(U8(loShift), t0)
			}
			ANDL(U32(0x0f0f0f0f), t0)
			MOVL(a2, t1)
			if hiShift > 0 {
				SHRL(U8(hiShift), t1)
			}
			ANDL(U32(0x03030303), t1)
			SHLL(U8(4), t1)
			ORL(t1, t0)
			if i == 0 {
				VMOVD(t0, sc.AsX())
			} else {
				VPINSRD(U8(i), t0, sc.AsX(), sc.AsX())
			}
		}
		word(0, a0, 0, 0)
		word(1, a1, 0, 2)
		word(2, a0, 4, 4)
		word(3, a1, 4, 6)
		VPSUBB(m32, sc.AsX(), sc.AsX())
		VPMOVSXBW(sc.AsX(), sc)
		hb := Mem{Base: w} // hmask, read from memory: registers are short
		sumi := ymms(T)
		zero(sumi...)
		for h := 0; h < 2; h++ {
			scH := groupScales(sc, h)
			bits := Mem{Base: w, Disp: 32 + 32*h}
			for s := 0; s < 4; s++ {
				ql, qh, scv := YMM(), YMM(), YMM()
				VMOVDQU(bits, ql)
				if s > 0 {
					VPSRLW(U8(2*s), ql, ql)
				}
				VPAND(mask03, ql, ql)
				// qh = 4 where bit 4h+s of the hmask byte is clear.
				VMOVDQU(hb, qh)
				bitsTo(2, 4*h+s, qh, qh)
				VPANDN(fours, qh, qh)
				VPSHUFB(shufQ6[s], scH, scv)
				for t := 0; t < T; t++ {
					p, o := YMM(), YMM()
					VPMADDUBSW(a.at(t, 4+128*h+32*s), ql, p)
					VPMADDUBSW(a.at(t, 4+128*h+32*s), qh, o)
					VPSUBW(o, p, p)
					VPMADDWD(scv, p, p)
					VPADDD(p, sumi[t], sumi[t])
				}
			}
		}
		scaleBlock(w, 108, a, sumi, acc)
	}, advanceK(w, 110, a))
	finishAcc(acc, T)
}
