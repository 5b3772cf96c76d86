package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// hmax reduces the 8 lanes of v to their maximum in the low lane of the
// returned register.
func hmax(v VecVirtual) VecVirtual {
	x, y := XMM(), XMM()
	VEXTRACTF128(U8(1), v, x)
	VMAXPS(v.AsX(), x, x)
	VMOVHLPS(x, x, y)
	VMAXPS(x, y, x)
	VMOVSHDUP(x, y)
	VMAXSS(x, y, x)
	return x
}

// packStore stores the low bytes of 32 int32 lanes (q[0] holds elements
// 0..7, ...) in order at dst: the truncation Go's int8 conversion does.
func packStore(q []VecVirtual, perm VecVirtual, dst Mem) {
	for _, v := range q {
		VPAND(lowByte, v, v)
	}
	VPACKUSDW(q[1], q[0], q[0])
	VPACKUSDW(q[3], q[2], q[2])
	VPACKUSWB(q[2], q[0], q[0])
	VPERMD(q[0], perm, q[0])
	VMOVDQU(q[0], dst)
}

// genQuantQ8 emits the activation quantizers, bit for bit those of package
// quant for finite inputs.
func genQuantQ8() {
	lowByte = constU32x8("lowByte", 0xff)
	magic := constU32x8("magic", 0x4b400000) // 12582912.0 = 1.5*2^23
	mant := constU32x8("mant", 0x007fffff)
	bias := constU32x8("bias", 0x00400000)
	f127 := constU32x8("f127", 0x42fe0000)   // 127.0
	fm127 := constU32x8("fm127", 0xc2fe0000) // -127.0

	TEXT("quantQ8_0AVX2", NOSPLIT, "func(x *float32, dst *byte, nb int)")
	Pragma("noescape")
	Doc("quantQ8_0AVX2 quantizes nb blocks of 32 floats at x to Q8_0 at dst as ggml-cpu's vectorized",
		"quantize_row_q8_0 (quant.QuantizeActRowQ8_0): d = amax/127 stored as f16,",
		"q = round_half_even(x * (127/amax)), 0 for an all-zero block.")
	{
		x := loadGP("x")
		dst := loadGP("dst")
		nb := loadGP("nb")
		perm, absR := YMM(), YMM()
		VMOVDQU(permPack, perm)
		VMOVUPS(absMask, absR)
		blockLoop("blocks", nb, 1, func(int) {
			v := ymms(4)
			m := YMM()
			for i := range v {
				VMOVUPS(Mem{Base: x, Disp: 32 * i}, v[i])
			}
			VANDPS(absR, v[0], m)
			for i := 1; i < 4; i++ {
				t := YMM()
				VANDPS(absR, v[i], t)
				VMAXPS(t, m, m)
			}
			amax := hmax(m)
			d := XMM()
			VDIVSS(f127, amax, d)
			h := XMM()
			VCVTPS2PH(U8(0), d, h)
			VPEXTRW(U8(0), h, Mem{Base: dst})
			id, z := XMM(), XMM()
			VMOVSS(f127, id)
			VDIVSS(amax, id, id)
			VXORPS(z, z, z)
			VCMPSS(U8(4), z, amax, z) // amax != 0
			VANDPS(z, id, id)
			idY := YMM()
			VBROADCASTSS(id, idY)
			for i := range v {
				VMULPS(idY, v[i], v[i])
				VCVTPS2DQ(v[i], v[i]) // MXCSR rounding: half to even
			}
			packStore(v, perm, Mem{Base: dst, Disp: 2})
		}, func(int) {
			ADDQ(U32(128), x)
			ADDQ(U32(34), dst)
		})
		VZEROUPPER()
		RET()
	}

	TEXT("quantQ8_KAVX2", NOSPLIT, "func(x *float32, dst *byte, nb int)")
	Pragma("noescape")
	Doc("quantQ8_KAVX2 quantizes nb blocks of 256 floats at x to Q8_K at dst as quantize_row_q8_K_ref:",
		"iscale = -127/max (max the first element of largest magnitude), q = min(127, nearest_int(iscale*x)),",
		"d = 1/iscale, bsums the sums of each 16 quants.")
	{
		x := loadGP("x")
		dst := loadGP("dst")
		nb := loadGP("nb")
		perm, c127r, absR := YMM(), YMM(), YMM()
		VMOVDQU(permPack, perm)
		VMOVDQU(c127, c127r)
		VMOVUPS(absMask, absR)
		blockLoop("blocks", nb, 1, func(int) {
			m := ymms(4)
			for i := 0; i < 32; i++ {
				if i < 4 {
					VANDPS(Mem{Base: x, Disp: 32 * i}, absR, m[i])
					continue
				}
				t := YMM()
				VMOVUPS(Mem{Base: x, Disp: 32 * i}, t)
				VANDPS(absR, t, t)
				VMAXPS(t, m[i%4], m[i%4])
			}
			VMAXPS(m[1], m[0], m[0])
			VMAXPS(m[3], m[2], m[2])
			VMAXPS(m[2], m[0], m[0])
			amax := hmax(m[0])
			z := XMM()
			VXORPS(z, z, z)
			VUCOMISS(z, amax)
			JNE(LabelRef("nonzero"))
			// All zero: d, quants and sums are 0.
			zy := YMM()
			VPXOR(zy, zy, zy)
			for i := 0; i < 9; i++ {
				VMOVDQU(zy, Mem{Base: dst, Disp: 32 * i})
			}
			MOVL(U32(0), Mem{Base: dst, Disp: 288})
			JMP(LabelRef("next"))

			Label("nonzero")
			// The first element whose magnitude is amax.
			aY, p, msk := YMM(), GP64(), GP32()
			VBROADCASTSS(amax, aY)
			MOVQ(x, p)
			Label("find")
			t := YMM()
			VANDPS(Mem{Base: p}, absR, t)
			VCMPPS(U8(0), aY, t, t)
			VMOVMSKPS(t, msk)
			TESTL(msk, msk)
			JNE(LabelRef("found"))
			ADDQ(U32(32), p)
			JMP(LabelRef("find"))
			Label("found")
			BSFL(msk, msk)
			mx, is, d := XMM(), XMM(), XMM()
			VMOVSS(Mem{Base: p, Index: msk.As64(), Scale: 4}, mx)
			VMOVSS(fm127, is)
			VDIVSS(mx, is, is)
			VMOVSS(one32, d)
			VDIVSS(is, d, d)
			VMOVSS(d, Mem{Base: dst})
			isY := YMM()
			VBROADCASTSS(is, isY)
			for k := 0; k < 8; k++ {
				q := ymms(4)
				for i := range q {
					// nearest_int: the mantissa of x*iscale + 1.5*2^23.
					VMULPS(Mem{Base: x, Disp: 128*k + 32*i}, isY, q[i])
					VADDPS(magic, q[i], q[i])
					VPAND(mant, q[i], q[i])
					VPSUBD(bias, q[i], q[i])
					VPMINSD(c127r, q[i], q[i])
				}
				// Sums of the two groups of 16 of the stored (int8) quants.
				e := ymms(4)
				for i := range e {
					VPSLLD(U8(24), q[i], e[i])
					VPSRAD(U8(24), e[i], e[i])
				}
				s0, s1, hi := e[0], e[2], XMM()
				VPADDD(e[1], e[0], s0)
				VPADDD(e[3], e[2], s1)
				VPHADDD(s1, s0, s0)
				VPHADDD(s0, s0, s0)
				VEXTRACTI128(U8(1), s0, hi)
				VPADDD(hi, s0.AsX(), hi)
				VPACKSSDW(hi, hi, hi)
				VMOVD(hi, Mem{Base: dst, Disp: 260 + 4*k})
				packStore(q, perm, Mem{Base: dst, Disp: 4 + 32*k})
			}
			Label("next")
		}, func(int) {
			ADDQ(U32(1024), x)
			ADDQ(U32(292), dst)
		})
		VZEROUPPER()
		RET()
	}
}
