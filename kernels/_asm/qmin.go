package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// genQMin emits Q4_1 and Q5_1 x Q8_1 in the order of ggml's AVX2 vec_dot
// (dotQ1Lanes): per block, the integer dot of the unsigned quants with the
// activations in 8 lanes (VPMADDUBSW needs no offset here), each lane
// accumulated by acc += (dx*dy) * float(lane) fused, and the minimum's
// summs += mx*sy fused apart; the result is the lanes' sum plus summs.
func genQMin() {
	for _, f := range []struct {
		name string
		size int
		high bool
	}{{"Q4_1", 20, false}, {"Q5_1", 24, true}} {
		for _, T := range []int{1, 4} {
			nb, w, a := dotOpening(f.name, "Q8_1", T)
			acc := zeroAccs(T)
			summs := make([]VecVirtual, T)
			for t := range summs {
				summs[t] = XMM()
				VXORPS(summs[t], summs[t], summs[t])
			}
			ones := YMM()
			VMOVDQU(ones16, ones)
			var allOnes VecVirtual
			qs := 4
			if f.high {
				allOnes = YMM()
				VPCMPEQB(allOnes, allOnes, allOnes)
				qs = 8
			}
			blockLoop("blocks", nb, 1, func(int) {
				prefetch(w, 0)
				q := nibbles(Mem{Base: w, Disp: qs})
				if f.high {
					b := highBits(Mem{Base: w, Disp: 4}, allOnes)
					VPAND(mask10, b, b)
					VPOR(b, q, q)
				}
				dm := XMM()
				VMOVD(Mem{Base: w}, dm)
				VCVTPH2PS(dm, dm) // [dx, mx]
				mx := XMM()
				VMOVSHDUP(dm, mx)
				for t := 0; t < T; t++ {
					p, y, sy, d := YMM(), XMM(), XMM(), YMM()
					VPMADDUBSW(a.at(t, 4), q, p)
					VPMADDWD(ones, p, p)
					VCVTDQ2PS(p, p)
					VMOVD(a.at(t, 0), y)
					VCVTPH2PS(y, y) // [dy, sy]
					VMOVSHDUP(y, sy)
					VFMADD231SS(sy, mx, summs[t]) // summs += mx*sy
					VMULSS(dm, y, d.AsX())        // dx*dy
					VBROADCASTSS(d.AsX(), d)
					VFMADD231PS(p, d, acc[t])
				}
			}, func(int) {
				ADDQ(U32(f.size), w)
				ADDQ(U32(36), a.base)
			})
			storeWith(acc, func(v, dst VecVirtual) {
				hsumTo(v, dst)
				for t := range acc {
					if acc[t] == v {
						VADDSS(summs[t], dst, dst)
					}
				}
			})
			VZEROUPPER()
			RET()
		}
	}
}
