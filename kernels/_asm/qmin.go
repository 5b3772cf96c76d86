package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// genQMin emits Q4_1 and Q5_1 x Q8_1 with the arithmetic of package quant's
// specification (VecDotQ4_1, VecDotQ5_1: ggml's generic order), so that the
// kernels give its bits: per block, the exact integer dot of the unsigned
// quants with the activations (VPMADDUBSW needs no offset here), then
// sum += float32(dx*dy)*float32(sumi) + float32(mx*sy), each operation
// rounded to float32 in that order.
func genQMin() {
	for _, f := range []struct {
		name string
		size int
		high bool
	}{{"Q4_1", 20, false}, {"Q5_1", 24, true}} {
		for _, T := range []int{1, 4} {
			nb, w, a := dotOpening(f.name, "Q8_1", T)
			acc := make([]VecVirtual, T)
			for t := range acc {
				acc[t] = XMM()
				VXORPS(acc[t], acc[t], acc[t])
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
				for t := 0; t < T; t++ {
					p, y := YMM(), XMM()
					VPMADDUBSW(a.at(t, 4), q, p)
					VPMADDWD(ones, p, p)
					s := hsumI32(p)
					VCVTDQ2PS(s, s)
					VMOVD(a.at(t, 0), y)
					VCVTPH2PS(y, y)  // [dy, sy]
					VMULPS(dm, y, y) // [dx*dy, mx*sy]
					VMULSS(y, s, s)  // (dx*dy)*sumi
					VMOVSHDUP(y, y)  // mx*sy
					VADDSS(y, s, s)  // + mx*sy
					VADDSS(s, acc[t], acc[t])
				}
			}, func(int) {
				ADDQ(U32(f.size), w)
				ADDQ(U32(36), a.base)
			})
			storeWith(acc, func(v, dst VecVirtual) { VMOVAPS(v, dst) })
			VZEROUPPER()
			RET()
		}
	}
}
