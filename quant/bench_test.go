package quant

import (
	"testing"
)

// BenchmarkVecDot measures the scalar dot products; SetBytes counts the
// weight bytes, so MB/s is the rate at which a row of weights is consumed.
func BenchmarkVecDot(b *testing.B) {
	const n = 4096
	x, y := normals(21, n, 1), normals(22, n, 1)
	for _, typ := range weightTypes() {
		w := make([]byte, mustRowSize(b, typ, n))
		a := make([]byte, mustRowSize(b, VecDotType(typ), n))
		if err := Quantize(typ, x, w); err != nil {
			b.Fatal(err)
		}
		if err := Quantize(VecDotType(typ), y, a); err != nil {
			b.Fatal(err)
		}
		dot := lookup(typ).dot
		b.Run(typ.String(), func(b *testing.B) {
			b.SetBytes(int64(len(w)))
			for b.Loop() {
				dot(n, w, a)
			}
		})
	}
}

// BenchmarkDequantize measures decoding; SetBytes counts the encoded bytes.
func BenchmarkDequantize(b *testing.B) {
	const n = 4096
	x := normals(23, n, 1)
	y := make([]float32, n)
	for _, typ := range implemented {
		w := make([]byte, mustRowSize(b, typ, n))
		if err := Quantize(typ, x, w); err != nil {
			b.Fatal(err)
		}
		deq := lookup(typ).dequant
		b.Run(typ.String(), func(b *testing.B) {
			b.SetBytes(int64(len(w)))
			for b.Loop() {
				deq(w, y)
			}
		})
	}
}

// BenchmarkQuantizeActivations measures the activation quantizers the
// kernels run once per token; SetBytes counts the float32 input bytes.
func BenchmarkQuantizeActivations(b *testing.B) {
	const n = 4096
	x := normals(24, n, 1)
	for _, typ := range []Type{Q8_0, Q8_1, Q8_K} {
		a := make([]byte, mustRowSize(b, typ, n))
		q := lookup(typ).quant
		b.Run(typ.String(), func(b *testing.B) {
			b.SetBytes(4 * n)
			for b.Loop() {
				q(x, a)
			}
		})
	}
}
