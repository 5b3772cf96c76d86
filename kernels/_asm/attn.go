package main

import (
	"fmt"
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// genAttn emits the stages of blocked f16 attention: the scores of a block
// of positions, float32(exp(float64(x))) as Go's math.Exp computes it on
// amd64 (kernels.Exp), glibc's expf (the softmax weights), and the f16 value
// accumulation over the block.
func genAttn() {
	genScores()
	genExp()
	genExpf()
	genAccum()
	genTiled()
}

// genScores emits attnScoresAVX2: for each position, attnDotGo (the sum of
// ggml_vec_dot_f16 in llama.cpp's AVX-512 build) of the f16-valued query and
// the f16 key, times scale. The four 16-lane float32 accumulators of that
// build are eight YMM registers (vector j is registers 2j, 2j+1); the tail
// of the head past its last multiple of 64 (a multiple of 8 here) is added
// in float64 one product at a time.
func genScores() {
	TEXT("attnScoresAVX2", NOSPLIT, "func(n int, hk64 int, tail8 int, q *float32, k *uint16, kstride int, scale float32, s *float32)")
	Pragma("noescape")
	Doc("attnScoresAVX2 writes s[j] = attnDotGo(q, key j) * scale for the n keys at k + j*kstride",
		"bytes, each of 64*hk64 + 8*tail8 f16 values; n must be positive.")
	n, s := loadGP("n"), loadGP("s")
	k, ks := loadGP("k"), loadGP("kstride")
	scale := XMM()
	Load(Param("scale"), scale)
	Label("key")
	q, kc := loadGP("q"), GP64()
	MOVQ(k, kc)
	sum := XMM()
	VXORPD(sum, sum, sum)
	c := loadGP("hk64")
	CMPQ(c, U32(0))
	JE(LabelRef("tail"))
	acc := ymms(8)
	zero(acc...)
	Label("chunk")
	for i, a := range acc {
		t := YMM()
		VCVTPH2PS(Mem{Base: kc, Disp: 16 * i}, t)
		VFMADD231PS(Mem{Base: q, Disp: 32 * i}, t, a)
	}
	ADDQ(U32(256), q)
	ADDQ(U32(128), kc)
	DECQ(c)
	JNZ(LabelRef("chunk"))
	// (v0+v2) + (v1+v3) on both halves, then 16 -> 8 -> 4 -> 2 -> 1.
	VADDPS(acc[4], acc[0], acc[0])
	VADDPS(acc[6], acc[2], acc[2])
	VADDPS(acc[2], acc[0], acc[0])
	VADDPS(acc[5], acc[1], acc[1])
	VADDPS(acc[7], acc[3], acc[3])
	VADDPS(acc[3], acc[1], acc[1])
	VADDPS(acc[1], acc[0], acc[0])
	x, y := XMM(), XMM()
	VEXTRACTF128(U8(1), acc[0], x)
	VADDPS(acc[0].AsX(), x, x)
	VPERMILPS(U8(0x4e), x, y)
	VADDPS(y, x, x)
	VMOVSHDUP(x, y)
	VADDSS(y, x, x)
	VCVTSS2SD(x, sum, sum)
	Label("tail")
	t8 := loadGP("tail8")
	CMPQ(t8, U32(0))
	JE(LabelRef("store"))
	Label("tail8")
	p, lo, hi := YMM(), YMM(), YMM()
	VCVTPH2PS(Mem{Base: kc}, p)
	VMULPS(Mem{Base: q}, p, p) // exact: both hold f16 values
	VCVTPS2PD(p.AsX(), lo)
	VEXTRACTF128(U8(1), p, p.AsX())
	VCVTPS2PD(p.AsX(), hi)
	for _, h := range []VecVirtual{lo, hi} {
		e := XMM()
		VADDSD(h.AsX(), sum, sum)
		VPERMILPD(U8(1), h.AsX(), e)
		VADDSD(e, sum, sum)
		VEXTRACTF128(U8(1), h, e)
		VADDSD(e, sum, sum)
		VPERMILPD(U8(1), e, e)
		VADDSD(e, sum, sum)
	}
	ADDQ(U32(32), q)
	ADDQ(U32(16), kc)
	DECQ(t8)
	JNZ(LabelRef("tail8"))
	Label("store")
	VCVTSD2SS(sum, sum, sum)
	VMULSS(scale, sum, sum)
	VMOVSS(sum, Mem{Base: s})
	ADDQ(ks, k)
	ADDQ(U32(4), s)
	DECQ(n)
	JNZ(LabelRef("key"))
	VZEROUPPER()
	RET()
}

// constF64x4 declares 4 copies of the float64 v.
func constF64x4(name string, v float64) Mem {
	m := GLOBL(name, RODATA|NOPTR)
	for i := 0; i < 4; i++ {
		DATA(8*i, U64(math.Float64bits(v)))
	}
	return m
}

// expConsts are the constants of Go's archExp, as 4 float64 lanes.
type expConsts struct {
	log2e, ln2u, ln2l, sixteenth, overflow, posInf, two, one, bias Mem
	coef                                                           []Mem
}

var expc expConsts

// genExp emits expAVX2, float32(math.Exp(float64(x))) for 8 floats at a
// time, bit for bit: the float64 arithmetic is Go's archExp on amd64 with
// FMA (math/exp_amd64.s, the avxfma path: the Shibata/SLEEF reduction and
// Taylor series), done 4 lanes at a time with the same operations in the
// same order, and its special cases resolved as they end in float32: a
// result below 2^-1022 (archExp's denormal and underflow paths) is 0 in
// float32, an argument above archExp's overflow bound or +Inf gives +Inf,
// and a NaN stays that NaN.
func genExp() {
	c := &expc
	c.log2e = constF64x4("expLog2e", 1.4426950408889634073599246810018920)
	c.ln2u = constF64x4("expLn2u", 0.69314718055966295651160180568695068359375)
	c.ln2l = constF64x4("expLn2l", 0.28235290563031577122588448175013436025525412068e-12)
	c.sixteenth = constF64x4("expSixteenth", 0.0625)
	c.overflow = constF64x4("expOverflow", 7.09782712893384e+02)
	c.posInf = constF64x4("expPosInf", math.Inf(1))
	c.two = constF64x4("expTwo", 2)
	c.one = constF64x4("expOne", 1)
	// The Taylor coefficients, highest first (1/8!, 1/7!, ..., 1/2, 1).
	for i, v := range []float64{2.4801587301587301587e-5, 1.9841269841269841270e-4, 1.3888888888888888889e-3,
		8.3333333333333333333e-3, 4.1666666666666666667e-2, 1.6666666666666666667e-1, 0.5, 1.0} {
		c.coef = append(c.coef, constF64x4(fmt.Sprintf("expC%d", i), v))
	}
	c.bias = GLOBL("expBias", RODATA|NOPTR)
	for i := 0; i < 4; i++ {
		DATA(4*i, U32(1023))
	}

	TEXT("expAVX2", NOSPLIT, "func(n8 int, x, dst *float32)")
	Pragma("noescape")
	Doc("expAVX2 writes dst[i] = float32(math.Exp(float64(x[i]))) for 8*n8 floats, with the",
		"operations of Go's archExp (amd64, FMA).")
	n, x, dst := loadGP("n8"), loadGP("x"), loadGP("dst")
	blockLoop("blocks", n, 1, func(int) {
		for h := 0; h < 2; h++ {
			xd := YMM()
			VCVTPS2PD(Mem{Base: x, Disp: 16 * h}, xd)
			VMOVUPS(exp4(xd), Mem{Base: dst, Disp: 16 * h})
		}
	}, func(int) {
		ADDQ(U32(32), x)
		ADDQ(U32(32), dst)
	})
	VZEROUPPER()
	RET()
}

// exp4 emits archExp on the 4 float64 lanes of xd (left unchanged) and
// returns the results rounded to float32 in a new XMM register.
func exp4(xd VecVirtual) VecVirtual {
	c := &expc
	t, kf := YMM(), YMM()
	ki := XMM()
	VMULPD(c.log2e, xd, t)
	VCVTPD2DQY(t, ki) // round to nearest even, as CVTSD2SL
	VCVTDQ2PD(ki, kf)
	r := YMM()
	VMOVAPD(xd, r)
	VFNMADD231PD(c.ln2u, kf, r) // r = x - kf*LN2U, fused
	VFNMADD231PD(c.ln2l, kf, r)
	VMULPD(c.sixteenth, r, r)
	p := YMM()
	VMOVAPD(c.coef[0], p)
	for _, k := range c.coef[1:] {
		VFMADD213PD(k, r, p) // p = r*p + k
	}
	VMULPD(p, r, r) // r = r*p
	for i := 0; i < 3; i++ {
		VADDPD(c.two, r, p)
		VMULPD(p, r, r)
	}
	VADDPD(c.two, r, p)
	VFMADD213PD(c.one, p, r) // r = p*r + 1
	// Times 2^k where k+1023 is in (0, 2047]; 0 where k+1023 <= 0 (a NaN
	// or infinite r there included).
	e, z := XMM(), XMM()
	VPADDD(c.bias, ki, e)
	VPXOR(z, z, z)
	VPCMPGTD(z, e, z) // k+1023 > 0
	scale, keep := YMM(), YMM()
	VPMOVZXDQ(e, scale)
	VPSLLQ(U8(52), scale, scale)
	VMULPD(scale, r, r)
	VPMOVSXDQ(z, keep)
	VANDPD(keep, r, r)
	// Above the overflow bound (and +Inf): +Inf. NaN: x.
	m := YMM()
	VCMPPD(U8(0x1e), c.overflow, xd, m) // x > Overflow, ordered
	VBLENDVPD(m, c.posInf, r, r)
	VCMPPD(U8(3), xd, xd, m) // unordered
	VBLENDVPD(m, xd, r, r)
	out := XMM()
	VCVTPD2PSY(r, out)
	return out
}

// genAccum emits the f16 value accumulation of a block of positions for
// 64 and 8 value columns at a time (the accumulator stays in registers as
// float32 holding f16 values), with the softmax denominator's recurrence.
func genAccum() {
	for _, C := range []int{8, 1} {
		name := fmt.Sprintf("attnAccum%dAVX2", 8*C)
		TEXT(name, NOSPLIT, "func(n int, acc, v *uint16, vstride int, e *float32, up *bool, sum float32) float32")
		Pragma("noescape")
		Doc(fmt.Sprintf("%s applies n positions to the f16 accumulator of %d values at acc: for position j",
			name, 8*C),
			"(values at v + j*vstride bytes) with up[j], acc = f16(acc*e[j]), sum = sum*e[j] + 1 (fused) and",
			"acc = f16(acc + v_j); otherwise acc = f16(acc + v_j*e[j]) (fused), sum += e[j], as",
			"attnAccumGo. It returns sum. n must be positive.")
		n, acc, v := loadGP("n"), loadGP("acc"), loadGP("v")
		vst, e, up := loadGP("vstride"), loadGP("e"), loadGP("up")
		sum := XMM()
		Load(Param("sum"), sum)
		a := ymms(C)
		for c := range a {
			VCVTPH2PS(Mem{Base: acc, Disp: 16 * c}, a[c])
		}
		round := func(y VecVirtual) {
			VCVTPS2PH(U8(0), y, y.AsX())
			VCVTPH2PS(y.AsX(), y)
		}
		s := YMM()
		Label("pos")
		CMPB(Mem{Base: up}, U8(0))
		JE(LabelRef("weigh"))
		// The maximum grew: rescale by e[j]; the value weighs 1.
		VBROADCASTSS(Mem{Base: e}, s)
		for c := range a {
			VMULPS(s, a[c], a[c])
			round(a[c])
		}
		VFMADD213SS(one32, s.AsX(), sum) // sum = sum*e + 1
		VMOVUPS(one32, s)
		JMP(LabelRef("add"))
		Label("weigh")
		VBROADCASTSS(Mem{Base: e}, s)
		VADDSS(s.AsX(), sum, sum)
		Label("add")
		for c := range a {
			t := YMM()
			VCVTPH2PS(Mem{Base: v, Disp: 16 * c}, t)
			VFMADD231PS(s, t, a[c])
			round(a[c])
		}
		ADDQ(vst, v)
		ADDQ(U32(4), e)
		INCQ(up)
		DECQ(n)
		JNZ(LabelRef("pos"))
		for c := range a {
			VCVTPS2PH(U8(0), a[c], Mem{Base: acc, Disp: 16 * c})
		}
		Store(sum, ReturnIndex(0))
		VZEROUPPER()
		RET()
	}
}

// expfConsts are glibc expf's constants as 4 float64 lanes.
type expfConsts struct {
	invLn2N, shift, c0, c1, c2, one, lo, hi, posInf Mem
	tab                                             Mem
}

// genExpf emits expfAVX2, glibc's expf (kernels.expf) for 8 floats at a
// time: its float64 evaluation 4 lanes at a time, every multiply-add fused as
// in glibc's FMA build, the 2^(k/32) table read by a gather. Below
// -0x1.9fe368p6 (and -Inf) the result is 0, above 0x1.62e42ep6 (and +Inf)
// +Inf, a NaN stays a NaN, as in glibc.
func genExpf() {
	var c expfConsts
	c.invLn2N = constF64x4("expfInvLn2N", 0x1.71547652b82fep+5)
	c.shift = constF64x4("expfShift", 0x1.8p+52)
	c.c0 = constF64x4("expfC0", 0x1.c6af84b912394p-20)
	c.c1 = constF64x4("expfC1", 0x1.ebfce50fac4f3p-13)
	c.c2 = constF64x4("expfC2", 0x1.62e42ff0c52d6p-6)
	c.one = constF64x4("expfOne", 1)
	c.lo = constF64x4("expfLo", -0x1.9fe368p6)
	c.hi = constF64x4("expfHi", 0x1.62e42ep6)
	c.posInf = constF64x4("expfPosInf", math.Inf(1))
	c.tab = GLOBL("expfTab", RODATA|NOPTR)
	for i, v := range exp2fTab {
		DATA(8*i, U64(v))
	}
	mask31 := GLOBL("expfMask31", RODATA|NOPTR)
	for i := 0; i < 4; i++ {
		DATA(8*i, U64(31))
	}

	TEXT("expfAVX2", NOSPLIT, "func(n8 int, x, dst *float32)")
	Pragma("noescape")
	Doc("expfAVX2 writes dst[i] = expf(x[i]), glibc's single-precision exp, for 8*n8 floats.")
	n, x, dst := loadGP("n8"), loadGP("x"), loadGP("dst")
	tab := GP64()
	LEAQ(c.tab, tab)
	blockLoop("blocks", n, 1, func(int) {
		for h := 0; h < 2; h++ {
			xd := YMM()
			VCVTPS2PD(Mem{Base: x, Disp: 16 * h}, xd)
			kd, r := YMM(), YMM()
			VMOVAPD(c.invLn2N, kd)
			VFMADD213PD(c.shift, xd, kd) // kd = invLn2N*x + shift
			ki := YMM()
			VMOVAPD(kd, ki)
			VSUBPD(c.shift, kd, kd)
			VMOVAPD(c.invLn2N, r)
			VFMSUB213PD(kd, xd, r) // r = invLn2N*x - kd
			idx, tv, m := YMM(), YMM(), YMM()
			VPAND(mask31, ki, idx)
			VPCMPEQD(m, m, m)
			VPGATHERQQ(m, Mem{Base: tab, Index: idx, Scale: 8}, tv)
			VPSLLQ(U8(47), ki, ki)
			VPADDQ(ki, tv, tv) // s
			z, r2, y := YMM(), YMM(), YMM()
			VMOVAPD(c.c0, z)
			VFMADD213PD(c.c1, r, z) // z = c0*r + c1
			VMULPD(r, r, r2)
			VMOVAPD(c.c2, y)
			VFMADD213PD(c.one, r, y) // y = c2*r + 1
			VFMADD231PD(r2, z, y)    // y = z*r2 + y
			VMULPD(tv, y, y)
			// Out of range: 0 below lo (and -Inf), +Inf above hi; NaN stays.
			VCMPPD(U8(0x11), c.lo, xd, m) // x < lo, ordered
			VANDNPD(y, m, y)
			VCMPPD(U8(0x1e), c.hi, xd, m) // x > hi, ordered
			VBLENDVPD(m, c.posInf, y, y)
			VCMPPD(U8(3), xd, xd, m) // unordered
			VBLENDVPD(m, xd, y, y)
			out := XMM()
			VCVTPD2PSY(y, out)
			VMOVUPS(out, Mem{Base: dst, Disp: 16 * h})
		}
	}, func(int) {
		ADDQ(U32(32), x)
		ADDQ(U32(32), dst)
	})
	VZEROUPPER()
	RET()
}

// exp2fTab is glibc's __exp2f_data.tab (kernels.exp2fTab).
var exp2fTab = [32]uint64{
	0x3ff0000000000000, 0x3fefd9b0d3158574, 0x3fefb5586cf9890f, 0x3fef9301d0125b51,
	0x3fef72b83c7d517b, 0x3fef54873168b9aa, 0x3fef387a6e756238, 0x3fef1e9df51fdee1,
	0x3fef06fe0a31b715, 0x3feef1a7373aa9cb, 0x3feedea64c123422, 0x3feece086061892d,
	0x3feebfdad5362a27, 0x3feeb42b569d4f82, 0x3feeab07dd485429, 0x3feea47eb03a5585,
	0x3feea09e667f3bcd, 0x3fee9f75e8ec5f74, 0x3feea11473eb0187, 0x3feea589994cce13,
	0x3feeace5422aa0db, 0x3feeb737b0cdc5e5, 0x3feec49182a3f090, 0x3feed503b23e255d,
	0x3feee89f995ad3ad, 0x3feeff76f2fb5e47, 0x3fef199bdd85529c, 0x3fef3720dcef9069,
	0x3fef5818dcfba487, 0x3fef7c97337b9b5f, 0x3fefa4afa2a490da, 0x3fefd0765b6e4540,
}

// genTiled emits the stages of tiled attention (kernels.attentionBlockTiled).
func genTiled() {
	// tileScoresAVX2: the 64 scores of a transposed tile, 8 keys per
	// register, each a chain of fused multiply-adds over the head.
	TEXT("tileScoresAVX2", NOSPLIT, "func(hk int, q, kt *float32, scale float32, s *float32)")
	Pragma("noescape")
	Doc("tileScoresAVX2 writes s[j] = (fused multiply-add chain over d of q[d]*kt[d*64+j]) * scale",
		"for the 64 keys j of a transposed tile; hk must be positive.")
	hk, q, kt, s := loadGP("hk"), loadGP("q"), loadGP("kt"), loadGP("s")
	acc := ymms(8)
	zero(acc...)
	Label("dim")
	b := YMM()
	VBROADCASTSS(Mem{Base: q}, b)
	for i, a := range acc {
		VFMADD231PS(Mem{Base: kt, Disp: 32 * i}, b, a)
	}
	ADDQ(U32(4), q)
	ADDQ(U32(256), kt)
	DECQ(hk)
	JNZ(LabelRef("dim"))
	sx, sc := XMM(), YMM()
	Load(Param("scale"), sx)
	VBROADCASTSS(sx, sc)
	for i, a := range acc {
		VMULPS(sc, a, a)
		VMOVUPS(a, Mem{Base: s, Disp: 32 * i})
	}
	VZEROUPPER()
	RET()

	// tileAccumAVX2: acc[d] += e[j]*vt[j*hv+d] over the n weights, in order.
	TEXT("tileAccumAVX2", NOSPLIT, "func(n, hv16 int, acc, vt, e *float32)")
	Pragma("noescape")
	Doc("tileAccumAVX2 sets acc[d] = fma(vt[j*hv+d], e[j], acc[d]) for j < n in order, d < 16*hv16",
		"(hv = 16*hv16); n must be positive.")
	hv16, ac, vtp := loadGP("hv16"), loadGP("acc"), loadGP("vt")
	rowBytes := GP64()
	MOVQ(hv16, rowBytes)
	SHLQ(U8(6), rowBytes) // 16 floats of 4 bytes per hv16
	Label("chunk")
	a0, a1 := YMM(), YMM()
	VMOVUPS(Mem{Base: ac}, a0)
	VMOVUPS(Mem{Base: ac, Disp: 32}, a1)
	n, e, vp := loadGP("n"), loadGP("e"), GP64()
	MOVQ(vtp, vp)
	Label("weight")
	w := YMM()
	VBROADCASTSS(Mem{Base: e}, w)
	VFMADD231PS(Mem{Base: vp}, w, a0)
	VFMADD231PS(Mem{Base: vp, Disp: 32}, w, a1)
	ADDQ(U32(4), e)
	ADDQ(rowBytes, vp)
	DECQ(n)
	JNZ(LabelRef("weight"))
	VMOVUPS(a0, Mem{Base: ac})
	VMOVUPS(a1, Mem{Base: ac, Disp: 32})
	ADDQ(U32(64), ac)
	ADDQ(U32(64), vtp)
	DECQ(hv16)
	JNZ(LabelRef("chunk"))
	VZEROUPPER()
	RET()

	// tileExpAVX2: x = vExpf(x - m) for the 64 scores of a tile.
	TEXT("tileExpAVX2", NOSPLIT, "func(x *float32, m float32)")
	Pragma("noescape")
	Doc("tileExpAVX2 replaces the 64 floats at x by vExpf(x[i] - m).")
	xp := loadGP("x")
	mx, mv := XMM(), YMM()
	Load(Param("m"), mx)
	VBROADCASTSS(mx, mv)
	for i := 0; i < 8; i++ {
		d := YMM()
		VMOVUPS(Mem{Base: xp, Disp: 32 * i}, d)
		VSUBPS(mv, d, d)
		VMOVUPS(vExpf8(d), Mem{Base: xp, Disp: 32 * i})
	}
	VZEROUPPER()
	RET()

	// tileLoadAVX2: 8 keys and values at a time to float32, keys transposed.
	TEXT("tileLoadAVX2", NOSPLIT, "func(n8, hk8, hv8 int, k *uint16, kstride int, v *uint16, vstride int, kt, vt *float32)")
	Pragma("noescape")
	Doc("tileLoadAVX2 converts 8*n8 keys (8*hk8 f16 each, at k + j*kstride bytes) into kt transposed",
		"(kt[d*64+j]) and as many value rows (8*hv8 f16 at v + j*vstride bytes) into vt (rows of 8*hv8).")
	n8 := loadGP("n8")
	kp, ks, vp2, vs := loadGP("k"), loadGP("kstride"), loadGP("v"), loadGP("vstride")
	ktp, vtp2 := loadGP("kt"), loadGP("vt")
	Label("keys8")
	{
		c := loadGP("hk8")
		kc, ktc := GP64(), GP64()
		MOVQ(kp, kc)
		MOVQ(ktp, ktc)
		ks3 := GP64()
		LEAQ(Mem{Base: ks, Index: ks, Scale: 2}, ks3)
		Label("kdims")
		r := ymms(8)
		base := GP64()
		MOVQ(kc, base)
		for i := 0; i < 8; i++ {
			if i == 4 {
				LEAQ(Mem{Base: kc, Index: ks, Scale: 4}, base)
			}
			var m Mem
			switch i % 4 {
			case 0:
				m = Mem{Base: base}
			case 1:
				m = Mem{Base: base, Index: ks, Scale: 1}
			case 2:
				m = Mem{Base: base, Index: ks, Scale: 2}
			case 3:
				m = Mem{Base: base, Index: ks3, Scale: 1}
			}
			VCVTPH2PS(m, r[i]) // key i, 8 elements
		}
		transpose8(r)
		for i := 0; i < 8; i++ {
			VMOVUPS(r[i], Mem{Base: ktc, Disp: 256 * i}) // element i of the 8 keys
		}
		ADDQ(U32(16), kc)
		ADDQ(U32(2048), ktc)
		DECQ(c)
		JNZ(LabelRef("kdims"))
	}
	{
		vrow, vtr := GP64(), GP64()
		MOVQ(vp2, vrow)
		MOVQ(vtp2, vtr)
		j := GP64()
		MOVQ(U32(8), j)
		Label("vrows")
		c, vc := loadGP("hv8"), GP64()
		MOVQ(vrow, vc)
		Label("vdims")
		t := YMM()
		VCVTPH2PS(Mem{Base: vc}, t)
		VMOVUPS(t, Mem{Base: vtr})
		ADDQ(U32(16), vc)
		ADDQ(U32(32), vtr)
		DECQ(c)
		JNZ(LabelRef("vdims"))
		ADDQ(vs, vrow)
		DECQ(j)
		JNZ(LabelRef("vrows"))
		MOVQ(vtr, vtp2)
		MOVQ(vrow, vp2)
	}
	LEAQ(Mem{Base: kp, Index: ks, Scale: 8}, kp)
	ADDQ(U32(32), ktp)
	DECQ(n8)
	JNZ(LabelRef("keys8"))
	VZEROUPPER()
	RET()
}

// transpose8 transposes the 8x8 float32 matrix held one row per register.
func transpose8(r []VecVirtual) {
	t := ymms(8)
	for i := 0; i < 4; i++ {
		VUNPCKLPS(r[2*i+1], r[2*i], t[2*i])
		VUNPCKHPS(r[2*i+1], r[2*i], t[2*i+1])
	}
	u := ymms(8)
	for i := 0; i < 2; i++ {
		VSHUFPS(U8(0x44), t[4*i+2], t[4*i], u[4*i])
		VSHUFPS(U8(0xee), t[4*i+2], t[4*i], u[4*i+1])
		VSHUFPS(U8(0x44), t[4*i+3], t[4*i+1], u[4*i+2])
		VSHUFPS(U8(0xee), t[4*i+3], t[4*i+1], u[4*i+3])
	}
	for i := 0; i < 4; i++ {
		VPERM2F128(U8(0x20), u[4+i], u[i], r[i])
		VPERM2F128(U8(0x31), u[4+i], u[i], r[4+i])
	}
}
