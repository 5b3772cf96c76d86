package quant

import (
	"encoding/binary"
	"math"
)

// Q8_K: super-blocks of 256 elements, 292 bytes:
//
//	offset 0    d      float32 LE   scale (a full float32, not f16)
//	offset 4    qs     int8[256]    element j = qs[j] * d
//	offset 260  bsums  int16[16] LE bsums[g] = sum of qs[16g : 16g+16]
//
// Q8_K is the activation format that all K-quant weights are dotted with;
// bsums let the mins of Q2_K/Q4_K/Q5_K be applied per group of 16 without
// touching the quants. ggml has no dot product with Q8_K weights.

const blockQ8_K = 292

// DequantizeRowQ8_K decodes len(dst)/256 Q8_K blocks from src.
//
//	src (len(dst)/256 blocks of 292 bytes) -> dst (multiple of 256)
func DequantizeRowQ8_K(src []byte, dst []float32) {
	for i := 0; i < len(dst)/QK_K; i++ {
		b := src[i*blockQ8_K : (i+1)*blockQ8_K]
		y := dst[i*QK_K : (i+1)*QK_K]
		d := math.Float32frombits(binary.LittleEndian.Uint32(b))
		for j, q := range b[4 : 4+QK_K] {
			y[j] = d * float32(int8(q))
		}
	}
}

// QuantizeRowQ8_K encodes x as Q8_K into dst, exactly as
// quantize_row_q8_K_ref: with max the element of largest magnitude (sign
// kept), iscale = -127/max, q = nearest_int(iscale*x) (ties to even) capped at
// 127, d = 1/iscale stored as float32. An all-zero block stores d = 0 and zero
// quants and sums.
//
//	x (multiple of 256) -> dst (len(x)/256 blocks of 292 bytes)
func QuantizeRowQ8_K(x []float32, dst []byte) {
	for i := 0; i < len(x)/QK_K; i++ {
		xb := x[i*QK_K : (i+1)*QK_K]
		b := dst[i*blockQ8_K : (i+1)*blockQ8_K]
		amax, max := absMax(xb)
		qs := b[4 : 4+QK_K]
		if amax == 0 {
			clear(b)
			continue
		}
		iscale := -127 / max
		for j, v := range xb {
			qs[j] = byte(int8(min(127, nearestInt(iscale*v))))
		}
		for g := 0; g < QK_K/16; g++ {
			var sum int
			for _, q := range qs[16*g : 16*g+16] {
				sum += int(int8(q))
			}
			binary.LittleEndian.PutUint16(b[4+QK_K+2*g:], uint16(int16(sum)))
		}
		binary.LittleEndian.PutUint32(b, math.Float32bits(1/iscale))
	}
}

// q8KBlock returns the scale, quants and group sums of one Q8_K block.
func q8KBlock(b []byte) (d float32, qs []byte, bsums []byte) {
	b = b[:blockQ8_K]
	return math.Float32frombits(binary.LittleEndian.Uint32(b)), b[4 : 4+QK_K], b[4+QK_K:]
}

// bsum returns group sum g of a Q8_K block's bsums.
func bsum(bsums []byte, g int) int32 { return int32(int16(binary.LittleEndian.Uint16(bsums[2*g:]))) }
