package kernels

import (
	"encoding/binary"
	"math"

	"github.com/qilin-ai/qilin/quant"
)

// F32 weights take one of two orders in llama.cpp's AVX-512 build, and the
// near-ties of a MoE router (an F32 ffn_gate_inp in quantized files too)
// turn last-bit differences into other experts, so both are followed:
//
//   - one activation row, a weight stack of mul_mat_id or per-head mul_mat,
//     and shapes tinyBLAS declines: ggml_vec_dot_f32, four 16-lane FMA
//     accumulators over 64 elements, added as (v0+v2)+(v1+v3), reduced as
//     _mm512_reduce_add_ps, and the elements past a multiple of 64 added one
//     by one with a float32 FMA (the compiler contracts `sumf += x*y`);
//   - two or more rows of a 2-D weight (llamafile_sgemm, when the columns are
//     a multiple of 16 and the rows of 4): tinyBLAS, one 16-lane FMA
//     accumulator per output, reduced the same way.

// dotF32Vec is ggml_vec_dot_f32's order.
//
//	w (n float32) . a (n float32) -> float32
func dotF32Vec(n int, w, a []byte, _ []float32) float32 {
	np := n &^ 63
	var acc [4][16]float32
	for i := 0; i < np; i += 64 {
		for j := range acc {
			for l := range acc[j] {
				c := i + 16*j + l
				acc[j][l] = fma32(f32At(w, c), f32At(a, c), acc[j][l])
			}
		}
	}
	var v [16]float32
	for l := range v {
		v[l] = (acc[0][l] + acc[2][l]) + (acc[1][l] + acc[3][l])
	}
	return f32Tail(reduce16(&v), np, n, w, a)
}

// dotF32Gemm is tinyBLAS's order; n is a multiple of 16.
//
//	w (n float32) . a (n float32) -> float32
func dotF32Gemm(n int, w, a []byte, _ []float32) float32 {
	var v [16]float32
	for i := 0; i+16 <= n; i += 16 {
		for l := range v {
			v[l] = fma32(f32At(w, i+l), f32At(a, i+l), v[l])
		}
	}
	return reduce16(&v)
}

// f32Tail adds the products of elements [from, n) to s one by one, each
// with a float32 FMA.
func f32Tail(s float32, from, n int, w, a []byte) float32 {
	for i := from; i < n; i++ {
		s = fma32(f32At(w, i), f32At(a, i), s)
	}
	return s
}

// reduce16 sums 16 lanes as _mm512_reduce_add_ps does: by halves, 16 -> 8
// -> 4 -> 2 -> 1.
func reduce16(v *[16]float32) float32 {
	for w := 8; w >= 1; w /= 2 {
		for l := 0; l < w; l++ {
			v[l] += v[l+w]
		}
	}
	return v[0]
}

func f32At(b []byte, i int) float32 { return math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:])) }

// f32GemmFor reports whether llama.cpp multiplies n activation rows by the
// F32 weight w with tinyBLAS rather than ggml_vec_dot_f32.
func f32GemmFor(w Matrix, n int) bool {
	return w.Type == quant.F32 && n >= 2 && w.Layout == Plain && w.Cols%16 == 0 && w.Rows%4 == 0
}
