package quant

import (
	"encoding/binary"
	"math"
)

// F32: IEEE 754 binary32, 4 bytes little-endian per element.

// DequantizeRowF32 decodes len(dst) little-endian float32 values from src.
//
//	src (4*len(dst) bytes) -> dst
func DequantizeRowF32(src []byte, dst []float32) {
	src = src[:4*len(dst)]
	for i := range dst {
		dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
	}
}

// QuantizeRowF32 stores x as little-endian float32 in dst (4*len(x) bytes).
func QuantizeRowF32(x []float32, dst []byte) {
	dst = dst[:4*len(x)]
	for i, v := range x {
		binary.LittleEndian.PutUint32(dst[4*i:], math.Float32bits(v))
	}
}

// VecDotF32 is ggml_vec_dot_f32's scalar path: float32 products summed in
// float64.
//
//	w (n float32) . a (n float32) -> float32
func VecDotF32(n int, w, a []byte) float32 {
	w, a = w[:4*n], a[:4*n]
	var sum float64
	for i := 0; i < 4*n; i += 4 {
		x := math.Float32frombits(binary.LittleEndian.Uint32(w[i:]))
		y := math.Float32frombits(binary.LittleEndian.Uint32(a[i:]))
		sum += float64(float32(x * y))
	}
	return float32(sum)
}
