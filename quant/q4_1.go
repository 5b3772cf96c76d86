package quant

import "math"

// Q4_1: blocks of 32 elements, 20 bytes:
//
//	offset 0   d   f16        scale
//	offset 2   m   f16        min
//	offset 4   qs  uint8[16]  element j    = (qs[j] & 0xF) * d + m   (j < 16)
//	                          element j+16 = (qs[j] >> 4)  * d + m
//
// Dotted with activations in Q8_1.

const (
	qk4_1     = 32
	blockQ4_1 = 20
)

// DequantizeRowQ4_1 decodes len(dst)/32 Q4_1 blocks from src.
//
//	src (len(dst)/32 blocks of 20 bytes) -> dst (multiple of 32)
func DequantizeRowQ4_1(src []byte, dst []float32) {
	for i := 0; i < len(dst)/qk4_1; i++ {
		b := src[i*blockQ4_1 : (i+1)*blockQ4_1]
		y := dst[i*qk4_1 : (i+1)*qk4_1]
		d, m := half(b), half(b[2:])
		for j, q := range b[4:20] {
			y[j] = float32(float32(q&0xF)*d) + m
			y[j+16] = float32(float32(q>>4)*d) + m
		}
	}
}

// minMax returns the smallest and largest element as ggml's Q4_1/Q5_1
// quantizers find them (starting from ±FLT_MAX).
func minMax(x []float32) (min, max float32) {
	min, max = math.MaxFloat32, -math.MaxFloat32
	for _, v := range x {
		if v < min {
			min = v
		}
		if v > max {
			max = v
		}
	}
	return min, max
}

// QuantizeRowQ4_1 encodes x as Q4_1 into dst, exactly as
// quantize_row_q4_1_ref: m = min, d = (max-min)/15, quants truncated from
// (x-min)/d + 0.5 and capped at 15.
//
//	x (multiple of 32) -> dst (len(x)/32 blocks of 20 bytes)
func QuantizeRowQ4_1(x []float32, dst []byte) {
	for i := 0; i < len(x)/qk4_1; i++ {
		xb := x[i*qk4_1 : (i+1)*qk4_1]
		b := dst[i*blockQ4_1 : (i+1)*blockQ4_1]
		min, max := minMax(xb)
		d := (max - min) / 15
		var id float32
		if d != 0 {
			id = 1 / d
		}
		putHalf(b, d)
		putHalf(b[2:], min)
		for j := 0; j < 16; j++ {
			b[4+j] = truncQuant(float32((xb[j]-min)*id)+0.5, 15) | truncQuant(float32((xb[j+16]-min)*id)+0.5, 15)<<4
		}
	}
}

// VecDotQ4_1 is ggml_vec_dot_q4_1_q8_1_generic: the min enters once per
// block through the activation block's s = d*sum(qs).
//
//	w (n/32 Q4_1 blocks) . a (n/32 Q8_1 blocks) -> float32
func VecDotQ4_1(n int, w, a []byte) float32 {
	var sumf float32
	for i := 0; i < n/qk4_1; i++ {
		x := w[i*blockQ4_1 : (i+1)*blockQ4_1]
		y := a[i*blockQ8_1 : (i+1)*blockQ8_1]
		qs, q8 := x[4:20], y[4:36]
		var sumi0, sumi1 int32
		for j, q := range qs {
			sumi0 += int32(q&0xF) * int32(int8(q8[j]))
			sumi1 += int32(q>>4) * int32(int8(q8[j+16]))
		}
		sumf += minBlockTerm(x, y, sumi0+sumi1)
	}
	return sumf
}

// minBlockTerm is one block's (dx*dy)*sumi + mx*sy for the formats with a
// min (Q4_1, Q5_1 against Q8_1), rounded step by step as ggml does.
func minBlockTerm(x, y []byte, sumi int32) float32 {
	dx, mx := half(x), half(x[2:])
	dy, sy := half(y), half(y[2:])
	return float32(float32(float32(dx*dy)*float32(sumi)) + float32(mx*sy))
}
