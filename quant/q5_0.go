package quant

import "encoding/binary"

// Q5_0: blocks of 32 elements, 22 bytes:
//
//	offset 0   d   f16        scale
//	offset 2   qh  uint32 LE  bit j is the 5th bit of element j
//	offset 6   qs  uint8[16]  element j    = ((qs[j] & 0xF) | bit j of qh << 4)    - 16) * d   (j < 16)
//	                          element j+16 = ((qs[j] >> 4)  | bit j+16 of qh << 4) - 16) * d
//
// Dotted with activations in Q8_0.

const (
	qk5_0     = 32
	blockQ5_0 = 22
)

// q5Quants returns the 5-bit quants of element j and j+16 of a Q5_0/Q5_1
// block from its qs byte and qh word.
func q5Quants(q byte, qh uint32, j int) (lo, hi int32) {
	lo = int32(q&0xF) | int32(qh>>j&1)<<4
	hi = int32(q>>4) | int32(qh>>(j+16)&1)<<4
	return lo, hi
}

// DequantizeRowQ5_0 decodes len(dst)/32 Q5_0 blocks from src.
//
//	src (len(dst)/32 blocks of 22 bytes) -> dst (multiple of 32)
func DequantizeRowQ5_0(src []byte, dst []float32) {
	for i := 0; i < len(dst)/qk5_0; i++ {
		b := src[i*blockQ5_0 : (i+1)*blockQ5_0]
		y := dst[i*qk5_0 : (i+1)*qk5_0]
		d := half(b)
		qh := binary.LittleEndian.Uint32(b[2:])
		for j, q := range b[6:22] {
			lo, hi := q5Quants(q, qh, j)
			y[j] = float32(lo-16) * d
			y[j+16] = float32(hi-16) * d
		}
	}
}

// QuantizeRowQ5_0 encodes x as Q5_0 into dst, exactly as
// quantize_row_q5_0_ref: d = -max/16 for the element of largest magnitude,
// quants truncated from x/d + 16.5 and capped at 31.
//
//	x (multiple of 32) -> dst (len(x)/32 blocks of 22 bytes)
func QuantizeRowQ5_0(x []float32, dst []byte) {
	for i := 0; i < len(x)/qk5_0; i++ {
		xb := x[i*qk5_0 : (i+1)*qk5_0]
		b := dst[i*blockQ5_0 : (i+1)*blockQ5_0]
		_, max := absMax(xb)
		d := max / -16
		var id float32
		if d != 0 {
			id = 1 / d
		}
		putHalf(b, d)
		var q [32]byte
		for j, v := range xb {
			q[j] = truncQuant(float32(v*id)+16.5, 31)
		}
		packQ5(b[2:], q[:])
	}
}

// packQ5 stores 32 5-bit quants as qh (4 bytes LE) followed by qs (16 bytes).
func packQ5(b []byte, q []byte) {
	var qh uint32
	for j := 0; j < 16; j++ {
		lo, hi := q[j], q[j+16]
		b[4+j] = lo&0xF | hi&0xF<<4
		qh |= uint32(lo>>4&1)<<j | uint32(hi>>4&1)<<(j+16)
	}
	binary.LittleEndian.PutUint32(b, qh)
}

// VecDotQ5_0 is ggml_vec_dot_q5_0_q8_0_generic.
//
//	w (n/32 Q5_0 blocks) . a (n/32 Q8_0 blocks) -> float32
func VecDotQ5_0(n int, w, a []byte) float32 {
	var sumf float32
	for i := 0; i < n/qk5_0; i++ {
		x := w[i*blockQ5_0 : (i+1)*blockQ5_0]
		y := a[i*blockQ8_0 : (i+1)*blockQ8_0]
		qh := binary.LittleEndian.Uint32(x[2:])
		q8 := y[2:34]
		var sumi0, sumi1 int32
		for j, q := range x[6:22] {
			lo, hi := q5Quants(q, qh, j)
			sumi0 += (lo - 16) * int32(int8(q8[j]))
			sumi1 += (hi - 16) * int32(int8(q8[j+16]))
		}
		sumf += float32(float32(half(x)*half(y)) * float32(sumi0+sumi1))
	}
	return sumf
}
