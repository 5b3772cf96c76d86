package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// shufI16 returns a VPSHUFB mask that fills the low 128-bit lane with copies
// of 16-bit element lo and the high lane with copies of element hi.
func shufI16(lo, hi int) []byte {
	b := make([]byte, 32)
	for i := 0; i < 16; i += 2 {
		b[i], b[i+1] = byte(2*lo), byte(2*lo+1)
		b[16+i], b[16+i+1] = byte(2*hi), byte(2*hi+1)
	}
	return b
}

// kq describes one K-quant weight format dotted with Q8_K activations.
type kq struct {
	name string
	size int
	T    []int
}

// sumiAcc adds d_w * d_a(t) * float(sumi) to acc, where d_a is the float32
// at the start of activation block t.
func sumiAcc(dw VecVirtual, dA Mem, sumi, acc VecVirtual) {
	d := YMM()
	VBROADCASTSS(dA, d)
	VMULPS(dw, d, d)
	VCVTDQ2PS(sumi, sumi)
	VFMADD231PS(sumi, d, acc)
}

func genKQuants() {
	var shufK [8]Mem
	for k := range shufK {
		shufK[k] = constBytes(fmt.Sprintf("shufK%d", k), shufI16(k, k))
	}
	var shufQ6 [4]Mem
	for s := range shufQ6 {
		shufQ6[s] = constBytes(fmt.Sprintf("shufQ6_%d", s), shufI16(2*s, 2*s+1))
	}
	c30 := constBytes("mask30", splat32(0x30))
	for _, T := range []int{1, 4} {
		genScaleMin("Q4_K", 144, T, &shufK, true)
		genScaleMin("Q5_K", 176, T, &shufK, false)
		genQ6_K(T, &shufQ6, c30)
	}
	genScaleMin("Q4_KLanes", 144, 1, &shufK, false)
	genQ2Q3(&shufQ6)
}

// genScaleMin emits Q4_K or Q5_K x Q8_K for T activation rows. Per
// super-block: the 6-bit scales and mins are unpacked in general registers
// (ggml's utmp shuffle), the mins applied through the activations' bsums,
// and each 32-quant sub-block dotted by VPMADDUBSW and scaled by VPMADDWD.
//
// With total set (Q4_K), each block's exact integer sums S (quants) and M
// (mins) are scaled once: [acc, accm] += [S, M] * [d, dmin]*d_a by one fused
// multiply-add, and the result is acc - accm, as llama.cpp's repacked Q4_K
// gemv computes it; for four rows, as its gemm, once per pair of
// sub-blocks (dotQ4_KRepacked). Otherwise (Q5_K) the 8 lanes of S are
// scaled and accumulated separately and the mins' total is added to a
// float32 apart, as ggml's AVX2 vec_dot (dotKLanes). Q4_KLanes (one row)
// is ggml's AVX2 vec_dot for the Q4_K weights llama.cpp leaves unrepacked
// (dotQ4_KLanes): the lanes as for Q5_K, the mins' 4 pair sums scaled into
// 4 float32 lanes of their own, reduced as (m0+m2) + (m1+m3) and added last.
func genScaleMin(name string, size, T int, shufK *[8]Mem, total bool) {
	nb, w, a := dotOpening(name, "Q8_K", T)
	gemm := total && T > 1
	var acc []VecVirtual
	var rowsAcc rowAccs
	if gemm {
		rowsAcc = newRowAccs()
	} else {
		acc = zeroAccs(T)
	}
	q5, pairMins := name == "Q5_K", name == "Q4_KLanes"
	qs := 16
	if q5 {
		qs = 48
	}
	// Q5_K: the mins' float32 sums, row t in lane t, kept in the frame
	// (the registers are all taken by the block loop).
	var summs Mem
	var accm VecVirtual
	if pairMins {
		accm = XMM()
		VXORPS(accm, accm, accm)
	} else if !total {
		summs = AllocLocal(16)
		z := XMM()
		VXORPS(z, z, z)
		VMOVUPS(z, summs)
	}
	blockLoop("blocks", nb, 1, func(int) {
		for off := 0; off < size; off += 64 {
			prefetch(w, off)
		}

		// Scales and mins: s0..s2 are the 12 packed bytes.
		s0, s1, s2, t, u := GP64(), GP64(), GP64(), GP64(), GP64()
		MOVL(Mem{Base: w, Disp: 4}, s0.As32())
		MOVL(Mem{Base: w, Disp: 8}, s1.As32())
		MOVL(Mem{Base: w, Disp: 12}, s2.As32())
		MOVL(s2.As32(), t.As32())
		SHRL(U8(4), t.As32())
		ANDL(U32(0x0f0f0f0f), t.As32())
		MOVL(s1.As32(), u.As32())
		SHRL(U8(6), u.As32())
		ANDL(U32(0x03030303), u.As32())
		SHLL(U8(4), u.As32())
		ORL(u.As32(), t.As32())          // mins 4..7
		ANDL(U32(0x3f3f3f3f), s1.As32()) // mins 0..3
		ANDL(U32(0x0f0f0f0f), s2.As32())
		MOVL(s0.As32(), u.As32())
		SHRL(U8(6), u.As32())
		ANDL(U32(0x03030303), u.As32())
		SHLL(U8(4), u.As32())
		ORL(u.As32(), s2.As32())         // scales 4..7
		ANDL(U32(0x3f3f3f3f), s0.As32()) // scales 0..3
		SHLQ(U8(32), s2)
		ORQ(s0, s2)
		SHLQ(U8(32), t)
		ORQ(s1, t)
		ms := YMM()
		VMOVQ(s2, ms.AsX())
		VPINSRQ(U8(1), t, ms.AsX(), ms.AsX())
		VPMOVZXBW(ms.AsX(), ms) // low lane: 8 scales, high lane: 8 mins (int16)
		mins, sc := XMM(), YMM()
		VEXTRACTI128(U8(1), ms, mins)
		VPERMQ(U8(0x44), ms, sc)

		// Mins (Q5_K): summs -= float(sum_j m_j * (bsum[2j] + bsum[2j+1])) *
		// (d_a*dmin), one fused multiply-add per block.
		// The rows' totals go in the lanes of one register (row t in lane t).
		// Q4_KLanes: accm -= float(m_2k*q8s_2k + m_2k+1*q8s_2k+1) * (d_a*dmin)
		// in lane k.
		if pairMins {
			p, dv := XMM(), XMM()
			VMOVDQU(a.at(0, 260), p)
			VPHADDW(a.at(0, 276), p, p)
			VPMADDWD(mins, p, p)
			VCVTDQ2PS(p, p)
			VBROADCASTSS(a.at(0, 0), dv)
			dmin := halfBroadcast(Mem{Base: w, Disp: 2})
			VMULPS(dmin.AsX(), dv, dv)
			VFNMADD231PS(p, dv, accm)
		} else if !total {
			dv := XMM()
			ps := make([]VecVirtual, 4)
			for t := 0; t < 4; t++ {
				if t >= T {
					ps[t] = ps[0] // unused lanes
					continue
				}
				ps[t] = XMM()
				VMOVDQU(a.at(t, 260), ps[t])
				VPHADDW(a.at(t, 276), ps[t], ps[t])
				VPMADDWD(mins, ps[t], ps[t])
				VINSERTPS(U8(t<<4), a.at(t, 0), dv, dv)
			}
			mv := rowTotals(ps, false) // row t's total in lane t
			VCVTDQ2PS(mv, mv)
			dmin := halfBroadcast(Mem{Base: w, Disp: 2})
			VMULPS(dmin.AsX(), dv, dv)
			sv := XMM()
			VMOVUPS(summs, sv)
			VFNMADD231PS(mv, dv, sv)
			VMOVUPS(sv, summs)
		}

		// gemm: llama.cpp's repacked four-row Q4_K kernel scales the sums of
		// each pair of sub-blocks separately, the rows in the lanes of the
		// accumulators.
		var dS VecVirtual
		if gemm {
			var dM VecVirtual
			dS, dM = rowsAcc.blockScales(a, w, 0, 2)
			pm := make([]VecVirtual, T)
			for t := 0; t < T; t++ {
				pm[t] = XMM()
				VMOVDQU(a.at(t, 260), pm[t])
				VPHADDW(a.at(t, 276), pm[t], pm[t])
				VPMADDWD(mins, pm[t], pm[t]) // M of each pair
			}
			for _, m := range transpose4(pm) { // M of pair j, row t in lane t
				rowsAcc.addM(m, dM)
			}
		}
		sumi := ymms(T)
		zero(sumi...)
		var hbits VecVirtual
		if q5 {
			hbits = YMM()
			VMOVDQU(Mem{Base: w, Disp: 16}, hbits)
		}
		for j := 0; j < 4; j++ {
			lo, hi := YMM(), YMM()
			VMOVDQU(Mem{Base: w, Disp: qs + 32*j}, hi)
			VPAND(mask0F, hi, lo)
			VPSRLW(U8(4), hi, hi)
			VPAND(mask0F, hi, hi)
			if q5 {
				// Sub-block 2j+e takes bit 2j+e of each qh byte as bit 4.
				for e, q := range []VecVirtual{lo, hi} {
					b := YMM()
					bitsTo(4, 2*j+e, hbits, b)
					VPAND(mask10, b, b)
					VPOR(b, q, q)
				}
			}
			sl, sh := YMM(), YMM()
			VPSHUFB(shufK[2*j], sc, sl)
			VPSHUFB(shufK[2*j+1], sc, sh)
			for t := 0; t < T; t++ {
				p := YMM()
				VPMADDUBSW(a.at(t, 4+64*j), lo, p)
				VPMADDWD(sl, p, p)
				if gemm {
					VMOVDQA(p, sumi[t])
				} else {
					VPADDD(p, sumi[t], sumi[t])
				}
				VPMADDUBSW(a.at(t, 4+64*j+32), hi, p)
				VPMADDWD(sh, p, p)
				VPADDD(p, sumi[t], sumi[t])
			}
			if gemm {
				rowsAcc.addS(rowTotals(sumi, true), dS)
			}
		}
		if gemm {
			return
		}
		if total {
			wsc := XMM()
			VMOVD(Mem{Base: w}, wsc)
			VCVTPH2PS(wsc, wsc) // [d, dmin, 0, 0]
			for t := 0; t < T; t++ {
				p, x, d := XMM(), XMM(), XMM()
				VMOVDQU(a.at(t, 260), p)
				VPHADDW(a.at(t, 276), p, p)
				VPMADDWD(mins, p, p)
				VEXTRACTI128(U8(1), sumi[t], x)
				VPADDD(sumi[t].AsX(), x, x)
				VPHADDD(p, x, x)
				VPHADDD(x, x, x) // [S, M, S, M]
				VCVTDQ2PS(x, x)
				VBROADCASTSS(a.at(t, 0), d)
				VMULPS(wsc, d, d)
				VFMADD231PS(x, d, acc[t].AsX())
			}
			return
		}
		scaleBlock(w, 0, a, sumi, acc)
	}, advanceK(w, size, a))
	if gemm {
		rowsAcc.store()
		VZEROUPPER()
		RET()
		return
	}
	if total {
		storeWith(acc, func(v, dst VecVirtual) {
			VMOVSHDUP(v.AsX(), dst)
			VSUBSS(dst, v.AsX(), dst) // acc - accm
		})
		VZEROUPPER()
		RET()
		return
	}
	if pairMins {
		storeWith(acc, func(v, dst VecVirtual) {
			hsumTo(v, dst)
			m, h := XMM(), XMM()
			VMOVHLPS(accm, accm, m)
			VADDPS(accm, m, m) // [m0+m2, m1+m3]
			VMOVSHDUP(m, h)
			VADDSS(h, m, m)
			VADDSS(m, dst, dst)
		})
		VZEROUPPER()
		RET()
		return
	}
	// Q5_K: the lanes' sum, then the mins' total.
	storeWith(acc, func(v, dst VecVirtual) {
		hsumTo(v, dst)
		for t := range acc {
			if acc[t] == v {
				VADDSS(summs.Offset(4*t), dst, dst)
			}
		}
	})
	VZEROUPPER()
	RET()
}

// genQ6_K emits Q6_K x Q8_K for T activation rows. The quants' offset of 32
// is applied through the bsums: sum_g sc_g * sum_k (q-32)*y = sum_g sc_g *
// sum_k q*y - 32 * sum_g sc_g * bsum_g, all in exact integers.
func genQ6_K(T int, shufQ6 *[4]Mem, c30 Mem) {
	nb, w, a := dotOpening("Q6_K", "Q8_K", T)
	acc := zeroAccs(T)
	blockLoop("blocks", nb, 1, func(int) {
		for off := 0; off < 210; off += 64 {
			prefetch(w, off)
		}
		sumi := ymms(T)
		{
			sc, nsc := YMM(), YMM()
			VPMOVSXBW(Mem{Base: w, Disp: 192}, sc)
			VPXOR(nsc, nsc, nsc)
			VPSUBW(sc, nsc, nsc)
			for t := 0; t < T; t++ {
				VPMADDWD(a.at(t, 260), nsc, sumi[t])
				VPSLLD(U8(5), sumi[t], sumi[t])
			}
		}
		for h := 0; h < 2; h++ {
			scH, qh := YMM(), YMM()
			VPMOVSXBW(Mem{Base: w, Disp: 192 + 8*h}, scH.AsX())
			VINSERTI128(U8(1), scH.AsX(), scH, scH)
			VMOVDQU(Mem{Base: w, Disp: 128 + 32*h}, qh)
			for s := 0; s < 4; s++ {
				q, hb := YMM(), YMM()
				VMOVDQU(Mem{Base: w, Disp: 64*h + 32*(s%2)}, q)
				if s >= 2 {
					VPSRLW(U8(4), q, q)
				}
				VPAND(mask0F, q, q)
				bitsTo(4, 2*s, qh, hb)
				VPAND(c30, hb, hb)
				VPOR(hb, q, q)
				scv := YMM()
				VPSHUFB(shufQ6[s], scH, scv)
				groupDot(a, 4+128*h+32*s, q, scv, sumi)
			}
		}
		scaleBlock(w, 208, a, sumi, acc)
	}, advanceK(w, 210, a))
	finishAcc(acc, T)
}

// bitsTo moves bit from of every byte of src to bit to in dst (other bits
// are left for the caller to mask off). Word shifts suffice: the bits that
// cross into a neighbouring byte land outside the masked positions.
func bitsTo(to, from int, src, dst VecVirtual) {
	switch {
	case from < to:
		VPSLLW(U8(to-from), src, dst)
	case from == to:
		if src != dst {
			VMOVDQU(src, dst)
		}
	default:
		VPSRLW(U8(from-to), src, dst)
	}
}

// groupDot adds to sumi[t], for each activation row t, the products of the
// 32 unsigned quants q with the activations at disp, adjacent pairs summed
// and scaled by the int16 group scales scv.
func groupDot(a acts, disp int, q, scv VecVirtual, sumi []VecVirtual) {
	for t := range sumi {
		p := YMM()
		VPMADDUBSW(a.at(t, disp), q, p)
		VPMADDWD(scv, p, p)
		VPADDD(p, sumi[t], sumi[t])
	}
}

// scaleBlock ends a super-block: acc[t] += (d_w * d_a(t)) * float(sumi[t]),
// with d_w the f16 at w+disp.
func scaleBlock(w GPVirtual, disp int, a acts, sumi, acc []VecVirtual) {
	dw := halfBroadcast(Mem{Base: w, Disp: disp})
	for t := range sumi {
		sumiAcc(dw, a.at(t, 0), sumi[t], acc[t])
	}
}

// advanceK returns the loop advance of a K-quant kernel: size bytes of
// weights and one Q8_K block per super-block.
func advanceK(w GPVirtual, size int, a acts) func(int) {
	return func(int) {
		ADDQ(U32(size), w)
		ADDQ(U32(292), a.base)
	}
}

// rowAccs are the accumulators of a four-row repacked (gemm) kernel: acc
// (quants) and accm (mins), row t in lane t, so that one fused multiply-add
// updates the four rows (each lane rounds as the row's own would).
type rowAccs struct{ s, m VecVirtual }

func newRowAccs() rowAccs {
	r := rowAccs{XMM(), XMM()}
	VXORPS(r.s, r.s, r.s)
	VXORPS(r.m, r.m, r.m)
	return r
}

// blockScales returns [d_w*d_a(t)] and [dmin_w*d_a(t)] for the block whose
// f16 d_w and dmin_w are at w+dOff and w+mOff.
func (r rowAccs) blockScales(a acts, w GPVirtual, dOff, mOff int) (dS, dM VecVirtual) {
	dv := XMM()
	VMOVSS(a.at(0, 0), dv)
	for t := 1; t < 4; t++ {
		VINSERTPS(U8(t<<4), a.at(t, 0), dv, dv)
	}
	dS, dM = XMM(), XMM()
	VPBROADCASTW(Mem{Base: w, Disp: dOff}, dS)
	VCVTPH2PS(dS, dS)
	VPBROADCASTW(Mem{Base: w, Disp: mOff}, dM)
	VCVTPH2PS(dM, dM)
	VMULPS(dv, dS, dS)
	VMULPS(dv, dM, dM)
	return dS, dM
}

// addS adds float(s) * d to acc, addM to accm, lane by lane (s and m hold
// int32 sums).
func (r rowAccs) addS(s, d VecVirtual) {
	VCVTDQ2PS(s, s)
	VFMADD231PS(s, d, r.s)
}

func (r rowAccs) addM(m, d VecVirtual) {
	VCVTDQ2PS(m, m)
	VFMADD231PS(m, d, r.m)
}

// store writes acc - accm of row t to out[t*ostride].
func (r rowAccs) store() {
	VSUBPS(r.m, r.s, r.s)
	out, os := loadGP("out"), loadGP("ostride")
	x := XMM()
	for t := 0; t < 4; t++ {
		switch t {
		case 0:
			VMOVSS(r.s, Mem{Base: out})
		case 1, 2:
			VPSHUFD(U8(t), r.s, x)
			VMOVSS(x, Mem{Base: out, Index: os, Scale: 4 * uint8(t)})
		default:
			VPSHUFD(U8(3), r.s, x)
			LEAQ(Mem{Base: os, Index: os, Scale: 2}, os)
			VMOVSS(x, Mem{Base: out, Index: os, Scale: 4})
		}
	}
}

// rowTotals returns [sum of the int32 lanes of v[t]] for four vectors
// (YMM if ymm, else XMM), row t in lane t: exact integer sums by VPHADDD
// (on YMM, per 128-bit half, the halves added last).
func rowTotals(v []VecVirtual, ymm bool) VecVirtual {
	if ymm {
		u, w, x := YMM(), YMM(), XMM()
		VPHADDD(v[1], v[0], u)
		VPHADDD(v[3], v[2], w)
		VPHADDD(w, u, u)
		VEXTRACTI128(U8(1), u, x)
		VPADDD(u.AsX(), x, x)
		return x
	}
	u, w := XMM(), XMM()
	VPHADDD(v[1], v[0], u)
	VPHADDD(v[3], v[2], w)
	VPHADDD(w, u, u)
	return u
}

// transpose4 transposes the 4x4 int32 matrix held one row per XMM register.
func transpose4(r []VecVirtual) []VecVirtual {
	t0, t1, t2, t3 := XMM(), XMM(), XMM(), XMM()
	VPUNPCKLDQ(r[1], r[0], t0)
	VPUNPCKHDQ(r[1], r[0], t1)
	VPUNPCKLDQ(r[3], r[2], t2)
	VPUNPCKHDQ(r[3], r[2], t3)
	o := []VecVirtual{XMM(), XMM(), XMM(), XMM()}
	VPUNPCKLQDQ(t2, t0, o[0])
	VPUNPCKHQDQ(t2, t0, o[1])
	VPUNPCKLQDQ(t3, t1, o[2])
	VPUNPCKHQDQ(t3, t1, o[3])
	return o
}
