package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// genFloat emits the float kernels: F16 and BF16 dot products (float32 FMA
// accumulation in four registers), the two F32 dot products of llama.cpp's
// AVX-512 build, and float32 to f16 conversion.
func genFloat() {
	for _, f := range []struct {
		name string
		size int // bytes of 8 elements
		load func(m Mem, dst VecVirtual)
	}{
		{"dotF16AVX2", 16, func(m Mem, dst VecVirtual) { VCVTPH2PS(m, dst) }},
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
		acc := zeroAccs(4)
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

	genF32()

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

}

// genF32 emits the F32 dot products in the two orders of llama.cpp's AVX-512
// build, each 16-lane zmm vector held as two ymm halves (lanes 0-7, 8-15):
// ggml_vec_dot_f32 (four vectors over 64 elements, added as (v0+v2)+(v1+v3))
// and llamafile's tinyBLAS (one vector over 16 elements), both reduced as
// _mm512_reduce_add_ps: the halves added lane by lane, then hsumTo.
func genF32() {
	genF32Dot("dotF32VecAVX2", "n64", 4, "dotF32VecAVX2 returns the dot product of 64*n64 float32s of w and a in ggml_vec_dot_f32's order (AVX-512: four 16-lane FMA accumulators).")
	genF32Dot("dotF32GemmAVX2", "n16", 1, "dotF32GemmAVX2 returns the dot product of 16*n16 float32s of w and a in tinyBLAS's order (AVX-512: one 16-lane FMA accumulator).")
}

// genF32Dot emits an F32 dot product over vecs 16-lane accumulators (1 or
// 4), 16*vecs elements a step, reduced as ggml does.
func genF32Dot(name, count string, vecs int, doc string) {
	TEXT(name, NOSPLIT, "func("+count+" int, w, a *byte) float32")
	Pragma("noescape")
	Doc(doc)
	n := loadGP(count)
	w := loadGP("w")
	a := loadGP("a")
	acc := zeroAccs(2 * vecs) // acc[2j], acc[2j+1]: the halves of vector j
	blockLoop("blocks", n, 1, func(int) {
		for i, c := range acc {
			x := YMM()
			VMOVUPS(Mem{Base: w, Disp: 32 * i}, x)
			VFMADD231PS(Mem{Base: a, Disp: 32 * i}, x, c)
		}
	}, func(int) {
		ADDQ(U32(64*vecs), w)
		ADDQ(U32(64*vecs), a)
	})
	if vecs == 4 {
		for h := 0; h < 2; h++ { // v0 += v2, v1 += v3, v0 += v1, per half
			VADDPS(acc[4+h], acc[h], acc[h])
			VADDPS(acc[6+h], acc[2+h], acc[2+h])
			VADDPS(acc[2+h], acc[h], acc[h])
		}
	}
	VADDPS(acc[1], acc[0], acc[0])
	ret := XMM()
	hsumTo(acc[0], ret)
	Store(ret, ReturnIndex(0))
	VZEROUPPER()
	RET()
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
	acc := zeroAccs(4)
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
