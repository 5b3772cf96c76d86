// Command _asm generates the AVX2 kernels of package kernels with avo.
//
// Run `go generate` in this directory: it writes ../kernels_amd64.s and the
// Go declarations ../kernels_amd64_stubs.go. Every generated function has a
// pure-Go twin in package kernels, and the tests compare the two.
package main

//go:generate go run . -out ../kernels_amd64.s -stubs ../kernels_stubs_amd64.go -pkg kernels

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

func main() {
	ConstraintExpr("!purego")
	genQ8_0()
	genQK32()
	genQuantQ8()
	genKQuants()
	genQMin()
	genTile()
	genEight()
	genAttn()
	genSwiGLU()
	genFloat()
	genDelta()
	genRead()
	Generate()
}

// constBytes declares read-only data holding b and returns its address.
func constBytes(name string, b []byte) Mem {
	m := GLOBL(name, RODATA|NOPTR)
	for i, v := range b {
		DATA(i, U8(v))
	}
	return m
}

// splat32 returns 32 copies of v.
func splat32(v byte) []byte {
	b := make([]byte, 32)
	for i := range b {
		b[i] = v
	}
	return b
}

// constU32x8 declares 8 copies of the 32-bit value v.
func constU32x8(name string, v uint32) Mem {
	m := GLOBL(name, RODATA|NOPTR)
	for i := 0; i < 8; i++ {
		DATA(4*i, U32(v))
	}
	return m
}

// constU16x16 declares 16 copies of the 16-bit value v.
func constU16x16(name string, v uint16) Mem {
	m := GLOBL(name, RODATA|NOPTR)
	for i := 0; i < 16; i++ {
		DATA(2*i, U16(v))
	}
	return m
}

var (
	lowByte, mask0F, mask10, ones16, absMask, signMask, one32, half32, c127, permPack Mem
)

func init() {
	mask0F = constBytes("mask0F", splat32(0x0F))
	mask10 = constBytes("mask10", splat32(0x10))
	ones16 = constU16x16("ones16", 1)
	absMask = constU32x8("absMask", 0x7fffffff)
	signMask = constU32x8("signMask", 0x80000000)
	one32 = constU32x8("one32", 0x3f800000)
	half32 = constU32x8("half32", 0x3f000000)
	c127 = constU32x8("c127", 127)
	permPack = GLOBL("permPack", RODATA|NOPTR)
	for i, v := range []uint32{0, 4, 1, 5, 2, 6, 3, 7} {
		DATA(4*i, U32(v))
	}
}

// acts addresses the T activation rows of a kernel: row t starts at
// base + t*stride, with stride and 3*stride held in registers.
type acts struct {
	base, stride, stride3 GPVirtual
	T                     int
}

func loadActs(T int) acts { return loadRows(T, "a", "astride") }

// loadRows loads the base and stride arguments of T rows.
func loadRows(T int, base, stride string) acts {
	a := acts{T: T, base: GP64()}
	Load(Param(base), a.base)
	if T > 1 {
		a.stride = GP64()
		Load(Param(stride), a.stride)
	}
	if T > 3 {
		a.stride3 = GP64()
		LEAQ(Mem{Base: a.stride, Index: a.stride, Scale: 2}, a.stride3)
	}
	return a
}

// at returns the address disp bytes into activation row t.
func (a acts) at(t, disp int) Mem {
	switch t {
	case 0:
		return Mem{Base: a.base, Disp: disp}
	case 1:
		return Mem{Base: a.base, Index: a.stride, Scale: 1, Disp: disp}
	case 2:
		return Mem{Base: a.base, Index: a.stride, Scale: 2, Disp: disp}
	case 3:
		return Mem{Base: a.base, Index: a.stride3, Scale: 1, Disp: disp}
	}
	panic(fmt.Sprintf("activation row %d", t))
}

// zero clears vector registers.
func zero(vs ...VecVirtual) {
	for _, v := range vs {
		VPXOR(v, v, v)
	}
}

// ymms allocates n YMM registers.
func ymms(n int) []VecVirtual {
	v := make([]VecVirtual, n)
	for i := range v {
		v[i] = YMM()
	}
	return v
}

// storeOuts reduces one accumulator per activation row: a single row's sum
// is returned, several rows' are stored at out[t*ostride].
func storeOuts(acc []VecVirtual) { storeWith(acc, hsumTo) }

// storeWith stores the results as storeOuts does, reducing each accumulator
// with reduce.
func storeWith(acc []VecVirtual, reduce func(v, dst VecVirtual)) {
	if len(acc) == 1 {
		x := XMM()
		reduce(acc[0], x)
		o, w, r := loadGP("out"), loadGP("w"), loadGP("rows")
		VMOVSS(x, Mem{Base: o})
		ADDQ(U32(4), o)
		Store(o, Param("out"))
		ws := loadGP("wstride")
		ADDQ(ws, w)
		Store(w, Param("w"))
		DECQ(r)
		Store(r, Param("rows"))
		JNZ(LabelRef("row"))
		return
	}
	out, os := loadGP("out"), loadGP("ostride")
	for t, a := range acc {
		x := XMM()
		reduce(a, x)
		switch t {
		case 0:
			VMOVSS(x, Mem{Base: out})
		case 1, 2:
			VMOVSS(x, Mem{Base: out, Index: os, Scale: 4 * uint8(t)})
		default:
			LEAQ(Mem{Base: os, Index: os, Scale: 2}, os)
			VMOVSS(x, Mem{Base: out, Index: os, Scale: 4})
		}
	}
}

// outDoc documents where a T-row kernel leaves its results.
func outDoc(T int) string {
	if T == 1 {
		return "It does so for rows > 0 weight rows at w + r*wstride, storing row r's sum at out[r]."
	}
	return "The sum of row t is stored at out[t*ostride]."
}

// halfBroadcast loads the f16 at m and returns it as 8 float32 copies.
func halfBroadcast(m Mem) VecVirtual {
	x := YMM()
	VPBROADCASTW(m, x.AsX())
	VCVTPH2PS(x.AsX(), x)
	return x
}

// blockLoop emits a loop over n blocks: body(u) for u in [0, unroll) per
// iteration while at least unroll blocks remain, then body(0) one at a time.
// advance moves the pointers past k blocks.
func blockLoop(name string, n GPVirtual, unroll int, body func(u int), advance func(k int)) {
	if unroll > 1 {
		Label(name + "_main")
		CMPQ(n, U32(unroll))
		JL(LabelRef(name + "_tail"))
		for u := 0; u < unroll; u++ {
			body(u)
		}
		advance(unroll)
		SUBQ(U32(unroll), n)
		JMP(LabelRef(name + "_main"))
	}
	Label(name + "_tail")
	CMPQ(n, U32(0))
	JE(LabelRef(name + "_done"))
	body(0)
	advance(1)
	DECQ(n)
	JMP(LabelRef(name + "_tail"))
	Label(name + "_done")
}

// loadGP loads the named argument into a new general register.
func loadGP(name string) GPVirtual {
	r := GP64()
	Load(Param(name), r)
	return r
}

// hsumI32 returns the sum of the 8 int32 lanes of v in the low lane of a new
// register (exact: the callers' sums fit in int32).
func hsumI32(v VecVirtual) VecVirtual {
	x := XMM()
	VEXTRACTI128(U8(1), v, x)
	VPADDD(v.AsX(), x, x)
	VPHADDD(x, x, x)
	VPHADDD(x, x, x)
	return x
}

// prefetchDist is how far ahead of the weights the kernels prefetch, in
// bytes; 0 turns prefetching off.
var prefetchDist = 2048

// prefetch asks for the cache line prefetchDist bytes past w+disp.
func prefetch(w GPVirtual, disp int) {
	if prefetchDist > 0 {
		PREFETCHT0(Mem{Base: w, Disp: disp + prefetchDist})
	}
}
