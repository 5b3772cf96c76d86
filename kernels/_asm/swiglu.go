package main

import (
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// genSwiGLU emits swigluAVX2: gate = gate/(1 + e) * up with e = vExpf(0 -
// gate), ggml_v_expf of llama.cpp's AVX-512 build, 8 lanes at a time.
func genSwiGLU() {
	TEXT("swigluAVX2", NOSPLIT, "func(n8 int, gate, up *float32)")
	Pragma("noescape")
	Doc("swigluAVX2 replaces gate[i] by gate[i] / (1 + vExpf(0-gate[i])) * up[i] for 8*n8 floats.")
	n, g, u := loadGP("n8"), loadGP("gate"), loadGP("up")
	blockLoop("blocks", n, 1, func(int) {
		x, nx := YMM(), YMM()
		VMOVUPS(Mem{Base: g}, x)
		VXORPS(nx, nx, nx)
		VSUBPS(x, nx, nx) // 0 - x
		j := vExpf8(nx)
		VADDPS(one32, j, j)
		VDIVPS(j, x, x)
		VMULPS(Mem{Base: u}, x, x)
		VMOVUPS(x, Mem{Base: g})
	}, func(int) {
		ADDQ(U32(32), g)
		ADDQ(U32(32), u)
	})
	VZEROUPPER()
	RET()
}

// vexpfConsts are ggml_v_expf's constants as 8 float32 lanes.
var vexpfConsts struct {
	shift, log2e, ln2hi, ln2lo, p5, p4, p3, p2, p1, big, inf, bias Mem
}

func init() {
	c := func(name string, v float32) Mem { return constU32x8(name, math.Float32bits(v)) }
	k := &vexpfConsts
	k.shift, k.log2e = c("siluShift", 0x1.8p23), c("siluLog2e", 0x1.715476p+0)
	k.ln2hi, k.ln2lo = c("siluLn2hi", 0x1.62e4p-1), c("siluLn2lo", 0x1.7f7d1cp-20)
	k.p5, k.p4, k.p3, k.p2, k.p1 = c("siluP5", 0x1.0e4020p-7), c("siluP4", 0x1.573e2ep-5), c("siluP3", 0x1.555e66p-3),
		c("siluP2", 0x1.fffdb6p-2), c("siluP1", 0x1.ffffecp-1)
	k.big, k.inf, k.bias = c("silu192", 192), c("siluInf", float32(math.Inf(1))), constU32x8("siluBias", 127)
}

// vExpf8 emits vExpf (ggml_v_expf of the AVX-512 build) on the 8 lanes of
// nx and returns the result in a new register: the same float32
// operations, and VSCALEFPS by 2^n (|n| <= 192) as two exact
// multiplications by powers of 2 (the first keeps the value normal, so the
// second rounds once, as VSCALEFPS does); 0 or +Inf beyond.
func vExpf8(nx VecVirtual) VecVirtual {
	k := &vexpfConsts
	z, nn := YMM(), YMM()
	VMOVUPS(k.log2e, z)
	VFMADD213PS(k.shift, nx, z) // z = nx*log2e + shift
	VSUBPS(k.shift, z, nn)      // n
	b := YMM()
	VMOVAPS(nx, b)
	VFNMADD231PS(k.ln2hi, nn, b) // b = nx - n*ln2hi
	VFNMADD231PS(k.ln2lo, nn, b) // b -= n*ln2lo
	uu, q, t, j := YMM(), YMM(), YMM(), YMM()
	VMULPS(b, b, uu)
	VMOVUPS(k.p5, q)
	VFMADD213PS(k.p4, b, q) // p5*b + p4
	VMOVUPS(k.p3, t)
	VFMADD213PS(k.p2, b, t) // p3*b + p2
	VFMADD213PS(t, uu, q)   // q*u + t
	VMOVUPS(k.p1, j)
	VFMADD213PS(one32, b, j) // p1*b + 1
	VFMADD231PS(q, uu, j)    // j += q*u
	// j * 2^n as two exact scalings by 2^n1, 2^(n-n1), n1 = n>>1.
	ni, n1, s1 := YMM(), YMM(), YMM()
	VCVTPS2DQ(nn, ni)
	VPSRAD(U8(1), ni, n1)
	VPSUBD(n1, ni, ni)
	VPADDD(k.bias, n1, s1)
	VPSLLD(U8(23), s1, s1)
	VMULPS(s1, j, j)
	VPADDD(k.bias, ni, s1)
	VPSLLD(U8(23), s1, s1)
	VMULPS(s1, j, j)
	// |n| > 192: +Inf where n > 0, else 0.
	m, alt := YMM(), YMM()
	VANDPS(absMask, nn, m)
	VCMPPS(U8(0x1e), k.big, m, m) // |n| > 192, ordered
	VXORPS(alt, alt, alt)
	VCMPPS(U8(0x1e), alt, nn, alt) // n > 0
	VANDPS(k.inf, alt, alt)
	VBLENDVPS(m, alt, j, j)
	return j
}
