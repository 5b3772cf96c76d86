package quant

// Q4_0: blocks of 32 elements, 18 bytes:
//
//	offset 0   d   f16        scale
//	offset 2   qs  uint8[16]  element j    = ((qs[j] & 0xF) - 8) * d   (j < 16)
//	                          element j+16 = ((qs[j] >> 4)  - 8) * d
//
// Dotted with activations in Q8_0.

const (
	qk4_0     = 32
	blockQ4_0 = 18
)

// DequantizeRowQ4_0 decodes len(dst)/32 Q4_0 blocks from src.
//
//	src (len(dst)/32 blocks of 18 bytes) -> dst (multiple of 32)
func DequantizeRowQ4_0(src []byte, dst []float32) {
	for i := 0; i < len(dst)/qk4_0; i++ {
		b := src[i*blockQ4_0 : (i+1)*blockQ4_0]
		y := dst[i*qk4_0 : (i+1)*qk4_0]
		d := half(b)
		qs := b[2:18]
		for j, q := range qs {
			y[j] = float32(int(q&0xF)-8) * d
			y[j+16] = float32(int(q>>4)-8) * d
		}
	}
}

// QuantizeRowQ4_0 encodes x as Q4_0 into dst, exactly as
// quantize_row_q4_0_ref: d = -max/8 where max is the element of largest
// magnitude (so it maps to -8 exactly), quants truncated from x/d + 8.5 and
// capped at 15.
//
//	x (multiple of 32) -> dst (len(x)/32 blocks of 18 bytes)
func QuantizeRowQ4_0(x []float32, dst []byte) {
	for i := 0; i < len(x)/qk4_0; i++ {
		xb := x[i*qk4_0 : (i+1)*qk4_0]
		b := dst[i*blockQ4_0 : (i+1)*blockQ4_0]
		_, max := absMax(xb)
		d := max / -8
		var id float32
		if d != 0 {
			id = 1 / d
		}
		putHalf(b, d)
		for j := 0; j < 16; j++ {
			b[2+j] = truncQuant(float32(xb[j]*id)+8.5, 15) | truncQuant(float32(xb[j+16]*id)+8.5, 15)<<4
		}
	}
}

// truncQuant is C's MIN(max, (int8_t)f) as ggml's Q4/Q5 quantizers write it:
// truncation toward zero, capped at max, and kept to the low 4 or 5 bits the
// caller packs. Out-of-range input (Inf, NaN) gives some in-range value.
func truncQuant(f float32, max int) byte {
	q := int(f)
	if q > max {
		q = max
	}
	return byte(q) & byte(max)
}

// VecDotQ4_0 is ggml_vec_dot_q4_0_q8_0_generic.
//
//	w (n/32 Q4_0 blocks) . a (n/32 Q8_0 blocks) -> float32
func VecDotQ4_0(n int, w, a []byte) float32 {
	var sumf float32
	for i := 0; i < n/qk4_0; i++ {
		x := w[i*blockQ4_0 : (i+1)*blockQ4_0]
		y := a[i*blockQ8_0 : (i+1)*blockQ8_0]
		qs, q8 := x[2:18], y[2:34]
		var sumi0, sumi1 int32
		for j, q := range qs {
			sumi0 += (int32(q&0xF) - 8) * int32(int8(q8[j]))
			sumi1 += (int32(q>>4) - 8) * int32(int8(q8[j+16]))
		}
		sumf += float32(float32(sumi0+sumi1) * half(x) * half(y))
	}
	return sumf
}
