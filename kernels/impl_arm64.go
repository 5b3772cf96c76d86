//go:build !purego

package kernels

import (
	"encoding/binary"
	"unsafe"

	"golang.org/x/sys/cpu"

	"github.com/qilin-ai/qilin/quant"
)

// simdSets returns the NEON kernel sets.
func simdSets() []*kernelSet { return neonSets() }

// neonSets returns the NEON kernel sets this CPU runs, slowest first: "neon"
// (Advanced SIMD, part of every arm64 CPU qilin supports) and, with the
// dotprod extension, "neon-dotprod", which computes the integer sums of the
// 32-element formats with SDOT. Every kernel of both gives the generic
// set's bits: integer sums are exact in any order, and the float steps
// follow the generic kernels one rounding at a time.
func neonSets() []*kernelSet {
	if !cpu.ARM64.HasASIMD {
		return nil
	}
	sets := []*kernelSet{newNEONSet("neon", neonKernels)}
	if cpu.ARM64.HasASIMDDP {
		sets = append(sets, newNEONSet("neon-dotprod", dotKernels))
	}
	return sets
}

// q32Kernels are the assembly kernels of one block-of-32 weight format: a
// run of weight rows against one activation row, and one weight row
// against four activation rows.
type q32Kernels struct {
	rows func(nb int, w *byte, wstride, rows int, a *byte, ad *float32, out *float32)
	four func(nb int, w, a *byte, astride int, ad *float32, adstride int, out *float32, ostride int)
}

// neonVariant lists the kernels that differ between the plain NEON and the
// dotprod sets.
type neonVariant struct {
	q8_0 q32Kernels
}

var (
	neonKernels = neonVariant{
		q8_0: q32Kernels{dotQ8_0RowsNEON, dotQ8_0x4NEON},
	}
	dotKernels = neonVariant{
		q8_0: q32Kernels{dotQ8_0RowsDOT, dotQ8_0x4DOT},
	}
)

// newNEONSet builds a NEON set on a copy of the generic one, so that the
// kernels it does not replace are the generic twins themselves.
func newNEONSet(name string, k neonVariant) *kernelSet {
	ks := new(kernelSet)
	*ks = *genericSet
	ks.name = name
	ks.dots = [maxType]dotKernel{}
	ks.dots[quant.Q8_0] = q32Dot(quant.Q8_0, k.q8_0)
	// The NEON kernels of Q4_0, Q5_0 and the K-quants sum in ggml's generic
	// order, not in llama.cpp's x86 order that every set now follows
	// (twin_x86.go); until they are regenerated, those formats use the
	// generic twins.

	ks.dots[quant.F16] = dotKernel{one: floatDotNEON(2, dotF16NEON, func(b []byte) float32 { return quant.FP16ToFP32(binary.LittleEndian.Uint16(b)) })}
	ks.dots[quant.BF16] = dotKernel{one: floatDotNEON(2, dotBF16NEON, func(b []byte) float32 { return quant.BF16ToFP32(binary.LittleEndian.Uint16(b)) })}
	// F32 keeps the generic twins of llama.cpp's x86 orders (f32.go).

	ks.quantize[quant.Q8_0] = func(x []float32, dst []byte) {
		if nb := len(x) / 32; nb > 0 {
			_ = dst[nb*34-1]
			quantQ8_0NEON(&x[0], &dst[0], nb)
		}
	}
	ks.quantize[quant.Q8_K] = func(x []float32, dst []byte) {
		if nb := len(x) / quant.QK_K; nb > 0 {
			_ = dst[nb*292-1]
			quantQ8_KNEON(&x[0], &dst[0], nb)
		}
	}
	ks.quantize[quant.F16] = func(x []float32, dst []byte) {
		dst = dst[:2*len(x)]
		if len(x) > 0 {
			toF16NEONGo(unsafe.Slice((*uint16)(unsafe.Pointer(&dst[0])), len(x)), x)
		}
	}
	ks.toF16 = toF16NEONGo
	// The attention stages run in Go: attnScoresNEON and attnAccum*NEON
	// compute the earlier float order (8 float64 lanes, unfused
	// accumulation) and are not yet regenerated for llama.cpp's.
	ks.exp = expNEONGo
	// swigluNEON computes the earlier e^-x (Go's math.Exp), not yet
	// regenerated for ggml_v_expf: SwiGLU runs in Go.
	return ks
}

// expNEONGo runs expNEON over multiples of 4 and expGo over the rest.
func expNEONGo(dst, x []float32) {
	x = x[:len(dst)]
	n4 := len(dst) / 4
	if n4 > 0 {
		expNEON(n4, &x[0], &dst[0])
	}
	expGo(dst[4*n4:], x[4*n4:])
}

// toF16NEONGo converts with FCVTN over multiples of 8 and in Go for the
// rest.
func toF16NEONGo(dst []uint16, src []float32) {
	dst = dst[:len(src)]
	n8 := len(src) / 8
	if n8 > 0 {
		toF16NEON(n8, &src[0], &dst[0])
	}
	toF16Go(dst[8*n8:], src[8*n8:])
}

// q32Dot wraps the kernels of weight type t (blocks of 32, Q8_0
// activations) as a dotKernel, checking the slices' lengths once.
func q32Dot(t quant.Type, k q32Kernels) dotKernel {
	d := rowsDot(32, t.BlockSize(), 34, k.rows, true)
	d.four = func(n int, w, a []byte, stride int, ad []float32, adStride int, out []float32, ostride int) {
		_ = out[3*ostride]
		nb := n / 32
		if nb == 0 {
			zero4(out, ostride)
			return
		}
		_, _, _ = w[nb*t.BlockSize()-1], a[3*stride+nb*34-1], ad[3*adStride+nb-1]
		k.four(nb, &w[0], &a[0], stride, &ad[0], 4*adStride, &out[0], 4*ostride)
	}
	return d
}

// floatDotNEON returns the one-row dot of a float type of size bytes per
// element: the kernel k over multiples of 8 elements, then the rest added to
// the same float64 sum as quant's scalar dots do (conv reads one element).
func floatDotNEON(size int, k func(n8 int, w, a *byte) float64, conv func(b []byte) float32) func(n int, w, a []byte, _ []float32) float32 {
	return func(n int, w, a []byte, _ []float32) float32 {
		w, a = w[:n*size], a[:n*size]
		n8 := n / 8
		var s float64
		if n8 > 0 {
			s = k(n8, &w[0], &a[0])
		}
		for i := 8 * n8; i < n; i++ {
			s += float64(float32(conv(w[i*size:]) * conv(a[i*size:])))
		}
		return float32(s)
	}
}

// zero4 clears out[i*ostride] for the four rows.
func zero4(out []float32, ostride int) {
	for i := 0; i < 4; i++ {
		out[i*ostride] = 0
	}
}
