package quant

import "encoding/binary"

// Q5_1: blocks of 32 elements, 24 bytes:
//
//	offset 0   d   f16        scale
//	offset 2   m   f16        min
//	offset 4   qh  uint32 LE  bit j is the 5th bit of element j
//	offset 8   qs  uint8[16]  element j    = ((qs[j] & 0xF) | bit j of qh << 4)    * d + m   (j < 16)
//	                          element j+16 = ((qs[j] >> 4)  | bit j+16 of qh << 4) * d + m
//
// Dotted with activations in Q8_1.

const (
	qk5_1     = 32
	blockQ5_1 = 24
)

// DequantizeRowQ5_1 decodes len(dst)/32 Q5_1 blocks from src.
//
//	src (len(dst)/32 blocks of 24 bytes) -> dst (multiple of 32)
func DequantizeRowQ5_1(src []byte, dst []float32) {
	for i := 0; i < len(dst)/qk5_1; i++ {
		b := src[i*blockQ5_1 : (i+1)*blockQ5_1]
		y := dst[i*qk5_1 : (i+1)*qk5_1]
		d, m := half(b), half(b[2:])
		qh := binary.LittleEndian.Uint32(b[4:])
		for j, q := range b[8:24] {
			lo, hi := q5Quants(q, qh, j)
			y[j] = float32(float32(lo)*d) + m
			y[j+16] = float32(float32(hi)*d) + m
		}
	}
}

// QuantizeRowQ5_1 encodes x as Q5_1 into dst, exactly as
// quantize_row_q5_1_ref: m = min, d = (max-min)/31, quants truncated from
// (x-min)/d + 0.5.
//
//	x (multiple of 32) -> dst (len(x)/32 blocks of 24 bytes)
func QuantizeRowQ5_1(x []float32, dst []byte) {
	for i := 0; i < len(x)/qk5_1; i++ {
		xb := x[i*qk5_1 : (i+1)*qk5_1]
		b := dst[i*blockQ5_1 : (i+1)*blockQ5_1]
		min, max := minMax(xb)
		d := (max - min) / 31
		var id float32
		if d != 0 {
			id = 1 / d
		}
		putHalf(b, d)
		putHalf(b[2:], min)
		var q [32]byte
		for j, v := range xb {
			q[j] = byte(int(float32((v-min)*id) + 0.5)) // ggml: (uint8_t)(x + 0.5f), no cap
		}
		packQ5(b[4:], q[:])
	}
}

// VecDotQ5_1 is ggml_vec_dot_q5_1_q8_1_generic.
//
//	w (n/32 Q5_1 blocks) . a (n/32 Q8_1 blocks) -> float32
func VecDotQ5_1(n int, w, a []byte) float32 {
	var sumf float32
	for i := 0; i < n/qk5_1; i++ {
		x := w[i*blockQ5_1 : (i+1)*blockQ5_1]
		y := a[i*blockQ8_1 : (i+1)*blockQ8_1]
		qh := binary.LittleEndian.Uint32(x[4:])
		q8 := y[4:36]
		var sumi0, sumi1 int32
		for j, q := range x[8:24] {
			lo, hi := q5Quants(q, qh, j)
			sumi0 += lo * int32(int8(q8[j]))
			sumi1 += hi * int32(int8(q8[j+16]))
		}
		sumf += minBlockTerm(x, y, sumi0+sumi1)
	}
	return sumf
}
