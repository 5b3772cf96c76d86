package quant

import (
	"encoding/binary"
	"math"
)

// Helpers shared by the formats with blocks of 32 elements (Q4_0, Q4_1,
// Q5_0, Q5_1): their quants are unpacked to [32]int32, element j of the block
// at index j; the symmetric formats subtract an offset (8 or 16) and scale by
// d, the min formats scale by d and add m.

const qk32 = 32

// unpackQ4 reads 32 4-bit quants: byte j holds element j in its low nibble
// and element j+16 in its high nibble.
func unpackQ4(qs []byte, q *[qk32]int32) {
	qs = qs[:16]
	for j, v := range qs {
		q[j] = int32(v & 0xF)
		q[j+16] = int32(v >> 4)
	}
}

// unpackQ5 reads 32 5-bit quants: the low 4 bits as unpackQ4 from qs, the
// 5th bit of element j from bit j of the little-endian word qh.
func unpackQ5(qh, qs []byte, q *[qk32]int32) {
	h := binary.LittleEndian.Uint32(qh)
	unpackQ4(qs, q)
	for j := range q {
		q[j] |= int32(h>>j&1) << 4
	}
}

// packQ4 stores 32 4-bit quants as unpackQ4 reads them.
func packQ4(qs []byte, q *[qk32]byte) {
	for j := 0; j < 16; j++ {
		qs[j] = q[j] | q[j+16]<<4
	}
}

// packQ5 stores 32 5-bit quants as qh (4 bytes LE) and qs (16 bytes).
func packQ5(qh, qs []byte, q *[qk32]byte) {
	var h uint32
	for j := 0; j < 16; j++ {
		lo, hi := q[j], q[j+16]
		qs[j] = lo&0xF | hi&0xF<<4
		h |= uint32(lo>>4&1)<<j | uint32(hi>>4&1)<<(j+16)
	}
	binary.LittleEndian.PutUint32(qh, h)
}

// dequantSymmetric writes (q[j]-offset)*d.
func dequantSymmetric(y []float32, q *[qk32]int32, offset int32, d float32) {
	y = y[:qk32]
	for j, v := range q {
		y[j] = float32(v-offset) * d
	}
}

// dequantMin writes q[j]*d + m.
func dequantMin(y []float32, q *[qk32]int32, d, m float32) {
	y = y[:qk32]
	for j, v := range q {
		y[j] = float32(float32(v)*d) + m
	}
}

// dotQ8 returns the integer dot of (q[j]-offset) with 32 int8 activations.
func dotQ8(q *[qk32]int32, offset int32, q8 []byte) int32 {
	q8 = q8[:qk32]
	var sum int32
	for j, v := range q {
		sum += (v - offset) * int32(int8(q8[j]))
	}
	return sum
}

// quantSymmetric is the quantizer of Q4_0 (nmax 8) and Q5_0 (nmax 16):
// d = max/-nmax for the element of largest magnitude, and quants
// min(2*nmax-1, trunc(x/d + nmax + 0.5)) computed with the float32 1/d.
func quantSymmetric(x []float32, nmax int, q *[qk32]byte) (d float32) {
	x = x[:qk32]
	_, max := absMax(x)
	d = max / float32(-nmax)
	var id float32
	if d != 0 {
		id = 1 / d
	}
	bias := float32(nmax) + 0.5
	for j, v := range x {
		q[j] = byte(min(2*nmax-1, int(float32(v*id)+bias)))
	}
	return d
}

// quantMin is the quantizer of Q4_1 (levels 15, capped at 15) and Q5_1
// (levels 31, not capped, as in ggml): m = min, d = (max-min)/levels, and
// quants trunc((x-min)/d + 0.5) computed with the float32 1/d.
func quantMin(x []float32, levels, limit int, q *[qk32]byte) (d, m float32) {
	x = x[:qk32]
	m, max := float32(math.MaxFloat32), float32(-math.MaxFloat32)
	for _, v := range x {
		if v < m {
			m = v
		}
		if v > max {
			max = v
		}
	}
	d = (max - m) / float32(levels)
	var id float32
	if d != 0 {
		id = 1 / d
	}
	for j, v := range x {
		q[j] = byte(min(limit, int(float32((v-m)*id)+0.5)))
	}
	return d, m
}

// minBlockTerm is one block's (dx*dy)*sumi + mx*sy for the formats with a
// min (Q4_1, Q5_1 against Q8_1), rounded step by step as ggml does.
func minBlockTerm(x, y []byte, sumi int32) float32 {
	dx, mx := half(x), half(x[2:])
	dy, sy := half(y), half(y[2:])
	return float32(float32(float32(dx*dy)*float32(sumi)) + float32(mx*sy))
}
