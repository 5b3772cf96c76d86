package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// genFloat emits the float kernels: F16, BF16 and F32 dot products (float32 FMA
// accumulation in four registers), float32 to f16 conversion, and the two
// steps of f16 attention.
func genFloat() {
	for _, f := range []struct {
		name string
		size int // bytes of 8 elements
		load func(m Mem, dst VecVirtual)
	}{
		{"dotF16AVX2", 16, func(m Mem, dst VecVirtual) { VCVTPH2PS(m, dst) }},
		{"dotF32AVX2", 32, func(m Mem, dst VecVirtual) { VMOVUPS(m, dst) }},
		{"dotBF16AVX2", 16, func(m Mem, dst VecVirtual) {
			VPMOVZXWD(m, dst) // bfloat16 is the top half of a float32
			VPSLLD(U8(16), dst, dst)
		}},
	} {
		TEXT(f.name, NOSPLIT, "func(n8 int, w, a *byte) float32")
		Pragma("noescape")
		Doc(f.name + " returns the dot product of 8*n8 elements of w and a, accumulated in float32 with FMA.")
		n := loadGP("n8")
		w := loadGP("w")
		a := loadGP("a")
		acc := ymms(4)
		zero(acc...)
		blockLoop("blocks", n, 4, func(u int) {
			x, y := YMM(), YMM()
			f.load(Mem{Base: w, Disp: f.size * u}, x)
			f.load(Mem{Base: a, Disp: f.size * u}, y)
			VFMADD231PS(x, y, acc[u])
		}, func(k int) {
			ADDQ(U32(f.size*k), w)
			ADDQ(U32(f.size*k), a)
		})
		VADDPS(acc[1], acc[0], acc[0])
		VADDPS(acc[3], acc[2], acc[2])
		VADDPS(acc[2], acc[0], acc[0])
		ret := XMM()
		hsumTo(acc[0], ret)
		Store(ret, ReturnIndex(0))
		VZEROUPPER()
		RET()
	}

	TEXT("toF16AVX2", NOSPLIT, "func(n8 int, x *float32, dst *uint16)")
	Pragma("noescape")
	Doc("toF16AVX2 converts 8*n8 floats to f16, rounding to nearest even.")
	{
		n := loadGP("n8")
		x := loadGP("x")
		dst := loadGP("dst")
		blockLoop("blocks", n, 1, func(int) {
			v := YMM()
			VMOVUPS(Mem{Base: x}, v)
			VCVTPS2PH(U8(0), v, Mem{Base: dst})
		}, func(int) {
			ADDQ(U32(32), x)
			ADDQ(U32(16), dst)
		})
		VZEROUPPER()
		RET()
	}

	TEXT("attnDotAVX2", NOSPLIT, "func(n8 int, q *float32, k *uint16) float32")
	Pragma("noescape")
	Doc("attnDotAVX2 returns sum q[i]*float32(k[i]) over 8*n8 elements: float32 products (exact for",
		"f16 inputs) summed in float64 in 8 lanes (lane l takes i = l mod 8, in order), the lanes",
		"reduced as attnDotGo does and rounded to float32.")
	{
		n := loadGP("n8")
		q := loadGP("q")
		k := loadGP("k")
		lo, hi := YMM(), YMM()
		zero(lo, hi)
		blockLoop("blocks", n, 1, func(int) {
			v, d := YMM(), YMM()
			VCVTPH2PS(Mem{Base: k}, v)
			VMULPS(Mem{Base: q}, v, v)
			VCVTPS2PD(v.AsX(), d)
			VADDPD(d, lo, lo)
			VEXTRACTF128(U8(1), v, v.AsX())
			VCVTPS2PD(v.AsX(), d)
			VADDPD(d, hi, hi)
		}, func(int) {
			ADDQ(U32(32), q)
			ADDQ(U32(16), k)
		})
		// e_j = l_j + l_{j+4}; ((e0+e2) + (e1+e3)).
		VADDPD(hi, lo, lo)
		x, y := XMM(), XMM()
		VEXTRACTF128(U8(1), lo, x)
		VADDPD(x, lo.AsX(), x)
		VUNPCKHPD(x, x, y)
		VADDSD(y, x, x)
		VCVTSD2SS(x, x, x)
		Store(x, ReturnIndex(0))
		VZEROUPPER()
		RET()
	}

	TEXT("attnAccAVX2", NOSPLIT, "func(n8 int, acc, v *uint16, ms, vs float32, rescale bool)")
	Pragma("noescape")
	Doc("attnAccAVX2 updates an f16 accumulator of 8*n8 elements: if rescale, acc = f16(acc*ms);",
		"then acc = f16(acc + float32(v*vs)), each product and sum rounded separately (no FMA).")
	{
		n := loadGP("n8")
		acc := loadGP("acc")
		v := loadGP("v")
		ms, vs := YMM(), YMM()
		Load(Param("ms"), ms.AsX())
		Load(Param("vs"), vs.AsX())
		VBROADCASTSS(ms.AsX(), ms)
		VBROADCASTSS(vs.AsX(), vs)
		r := Load(Param("rescale"), GP8())
		TESTB(r, r)
		JE(LabelRef("plain"))
		accLoop := func(name string, rescale bool) {
			blockLoop(name, n, 1, func(int) {
				x, y := YMM(), YMM()
				VCVTPH2PS(Mem{Base: acc}, x)
				if rescale {
					VMULPS(ms, x, x)
					VCVTPS2PH(U8(0), x, x.AsX())
					VCVTPH2PS(x.AsX(), x)
				}
				VCVTPH2PS(Mem{Base: v}, y)
				VMULPS(vs, y, y)
				VADDPS(y, x, x)
				VCVTPS2PH(U8(0), x, Mem{Base: acc})
			}, func(int) {
				ADDQ(U32(16), acc)
				ADDQ(U32(16), v)
			})
			VZEROUPPER()
			RET()
		}
		accLoop("scaled", true)
		Label("plain")
		accLoop("unscaled", false)
	}
}

// hsumTo reduces the 8 lanes of v into the low lane of dst in a fixed order:
// ((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7)).
func hsumTo(v, dst VecVirtual) {
	y := XMM()
	VEXTRACTF128(U8(1), v, dst)
	VADDPS(v.AsX(), dst, dst)
	VMOVHLPS(dst, dst, y)
	VADDPS(dst, y, dst)
	VMOVSHDUP(dst, y)
	VADDSS(y, dst, dst)
}

// genRead emits the streaming-read kernel the bandwidth benchmark uses.
func genRead() {
	TEXT("readAVX2", NOSPLIT, "func(n128 int, p *byte) uint64")
	Pragma("noescape")
	Doc("readAVX2 reads 128*n128 bytes at p with 32-byte loads and returns their xor folded to 64 bits.")
	n := loadGP("n128")
	p := loadGP("p")
	acc := ymms(4)
	zero(acc...)
	blockLoop("blocks", n, 1, func(int) {
		for i, a := range acc {
			VPXOR(Mem{Base: p, Disp: 32 * i}, a, a)
		}
	}, func(int) {
		ADDQ(U32(128), p)
	})
	VPXOR(acc[1], acc[0], acc[0])
	VPXOR(acc[3], acc[2], acc[2])
	VPXOR(acc[2], acc[0], acc[0])
	x := XMM()
	VEXTRACTI128(U8(1), acc[0], x)
	VPXOR(acc[0].AsX(), x, x)
	r, s := GP64(), GP64()
	VMOVQ(x, r)
	VPEXTRQ(U8(1), x, s)
	XORQ(s, r)
	Store(r, ReturnIndex(0))
	VZEROUPPER()
	RET()
}
