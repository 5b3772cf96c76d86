package main

import (
	"fmt"
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// genAttn emits the three stages of blocked f16 attention: the scores of a
// block of positions, float32(exp(float64(x))) as Go's math.Exp computes it
// on amd64, and the f16 value accumulation over the block.
func genAttn() {
	genScores()
	genExp()
	genAccum()
}

// genScores emits attnScoresAVX2: for each position, the score of attnDotGo
// (the f16-rounded query times the f16 key, products exact in float32,
// summed in float64 in 8 lanes, the lanes reduced as attnDotGo does,
// rounded to float32) times scale. The query comes as float64, so that each
// product is added by one float64 fused multiply-add: the product is exact,
// so this rounds as adding the float32 product does. Four positions are
// scored together so that their independent sums overlap.
func genScores() {
	TEXT("attnScoresAVX2", NOSPLIT, "func(n int, hk8 int, q *float64, k *uint16, kstride int, scale float32, s *float32)")
	Pragma("noescape")
	Doc("attnScoresAVX2 writes s[j] = attnDotGo(q, key j) * scale for the n keys at k + j*kstride",
		"bytes, each of 8*hk8 f16 values, with the query as float64.")
	n, s := loadGP("n"), loadGP("s")
	k, ks := loadGP("k"), loadGP("kstride")
	scale := XMM()
	Load(Param("scale"), scale)
	// score emits the sums of P positions (keys at kp + i*kstride) and
	// stores them at s[0..P).
	score := func(name string, P int, kp GPVirtual) {
		lo, hi := ymms(P), ymms(P)
		zero(lo...)
		zero(hi...)
		c, q, kc := loadGP("hk8"), loadGP("q"), GP64()
		MOVQ(kp, kc)
		ks3 := GP64()
		LEAQ(Mem{Base: ks, Index: ks, Scale: 2}, ks3)
		Label(name)
		for i := 0; i < P; i++ {
			m := Mem{Base: kc}
			switch i {
			case 1:
				m = Mem{Base: kc, Index: ks, Scale: 1}
			case 2:
				m = Mem{Base: kc, Index: ks, Scale: 2}
			case 3:
				m = Mem{Base: kc, Index: ks3, Scale: 1}
			}
			for h, acc := range []VecVirtual{lo[i], hi[i]} {
				v := YMM()
				VCVTPH2PS(m.Offset(8*h), v.AsX())
				VCVTPS2PD(v.AsX(), v)
				VFMADD231PD(Mem{Base: q, Disp: 32 * h}, v, acc)
			}
		}
		ADDQ(U32(64), q)
		ADDQ(U32(16), kc)
		DECQ(c)
		JNZ(LabelRef(name))
		for i := 0; i < P; i++ {
			// e_j = l_j + l_{j+4}; ((e0+e2) + (e1+e3)).
			VADDPD(hi[i], lo[i], lo[i])
			x, y := XMM(), XMM()
			VEXTRACTF128(U8(1), lo[i], x)
			VADDPD(x, lo[i].AsX(), x)
			VUNPCKHPD(x, x, y)
			VADDSD(y, x, x)
			VCVTSD2SS(x, x, x)
			VMULSS(scale, x, x)
			VMOVSS(x, Mem{Base: s, Disp: 4 * i})
		}
	}
	Label("quads")
	CMPQ(n, U32(4))
	JL(LabelRef("singles"))
	score("quad", 4, k)
	LEAQ(Mem{Base: k, Index: ks, Scale: 4}, k)
	ADDQ(U32(16), s)
	SUBQ(U32(4), n)
	JMP(LabelRef("quads"))
	Label("singles")
	CMPQ(n, U32(0))
	JE(LabelRef("done"))
	score("single", 1, k)
	ADDQ(ks, k)
	ADDQ(U32(4), s)
	DECQ(n)
	JMP(LabelRef("singles"))
	Label("done")
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
			"(values at v + j*vstride bytes) with up[j], acc = f16(acc*e[j]), sum = f32(sum*e[j]) + 1 and",
			"acc = f16(acc + v_j); otherwise acc = f16(acc + float32(v_j*e[j])), sum += e[j], as",
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
		VMULSS(s.AsX(), sum, sum)
		VADDSS(one32, sum, sum)
		VMOVUPS(one32, s)
		JMP(LabelRef("add"))
		Label("weigh")
		VBROADCASTSS(Mem{Base: e}, s)
		VADDSS(s.AsX(), sum, sum)
		Label("add")
		for c := range a {
			t := YMM()
			VCVTPH2PS(Mem{Base: v, Disp: 16 * c}, t)
			VMULPS(s, t, t)
			VADDPS(t, a[c], a[c])
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
