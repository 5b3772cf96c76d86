package quant

// Q8_0: blocks of 32 elements, 34 bytes:
//
//	offset 0   d   f16        scale
//	offset 2   qs  int8[32]   element j = qs[j] * d
//
// Q8_0 is both a weight format and the activation format that Q4_0, Q5_0 and
// Q8_0 weights are dotted with.

const (
	qk8_0     = 32
	blockQ8_0 = 34
)

// DequantizeRowQ8_0 decodes len(dst)/32 Q8_0 blocks from src.
//
//	src (len(dst)/32 blocks of 34 bytes) -> dst (multiple of 32)
func DequantizeRowQ8_0(src []byte, dst []float32) {
	for i := 0; i < len(dst)/qk8_0; i++ {
		b := src[i*blockQ8_0 : (i+1)*blockQ8_0]
		y := dst[i*qk8_0 : (i+1)*qk8_0]
		d := half(b)
		for j := range y {
			y[j] = float32(int8(b[2+j])) * d
		}
	}
}

// QuantizeRowQ8_0 encodes x as Q8_0 into dst, exactly as
// quantize_row_q8_0_ref: d = max|x|/127 stored as f16, and each element
// rounded half away from zero (roundf) after multiplying by the float32 1/d.
//
//	x (multiple of 32) -> dst (len(x)/32 blocks of 34 bytes)
func QuantizeRowQ8_0(x []float32, dst []byte) {
	for i := 0; i < len(x)/qk8_0; i++ {
		xb := x[i*qk8_0 : (i+1)*qk8_0]
		b := dst[i*blockQ8_0 : (i+1)*blockQ8_0]
		d, id := q8Scale(xb)
		putHalf(b, d)
		for j, v := range xb {
			b[2+j] = byte(int8(roundf(v * id)))
		}
	}
}

// q8Scale returns ggml's d = amax/127 and id = 1/d (0 when d is 0) for a Q8_0
// or Q8_1 block. amax is accumulated with C's MAX macro, so a NaN element
// poisons it the same way.
func q8Scale(x []float32) (d, id float32) {
	var amax float32
	for _, v := range x {
		a := abs32(v)
		if !(amax > a) {
			amax = a
		}
	}
	d = amax / 127
	if d != 0 {
		id = 1 / d
	}
	return d, id
}

// VecDotQ8_0 is ggml_vec_dot_q8_0_q8_0_generic.
//
//	w (n/32 Q8_0 blocks) . a (n/32 Q8_0 blocks) -> float32
func VecDotQ8_0(n int, w, a []byte) float32 {
	var sumf float32
	for i := 0; i < n/qk8_0; i++ {
		x := w[i*blockQ8_0 : (i+1)*blockQ8_0]
		y := a[i*blockQ8_0 : (i+1)*blockQ8_0]
		var sumi int32
		for j := 2; j < blockQ8_0; j++ {
			sumi += int32(int8(x[j])) * int32(int8(y[j]))
		}
		sumf += float32(float32(sumi) * (half(x) * half(y)))
	}
	return sumf
}
