package quant

import "math"

// Q8_0: blocks of 32 elements, 34 bytes:
//
//	offset 0   d   f16        scale
//	offset 2   qs  int8[32]   element j = qs[j] * d
//
// Q8_0 is both a weight format and the activation format that Q4_0, Q5_0 and
// Q8_0 weights are dotted with.

const blockQ8_0 = 34

// DequantizeRowQ8_0 decodes len(dst)/32 Q8_0 blocks from src.
//
//	src (len(dst)/32 blocks of 34 bytes) -> dst (multiple of 32)
func DequantizeRowQ8_0(src []byte, dst []float32) { dequantQ8(src, dst, blockQ8_0, 2) }

// QuantizeRowQ8_0 encodes x as Q8_0 into dst, exactly as
// quantize_row_q8_0_ref: d = max|x|/127 stored as f16, and each element
// rounded half away from zero (roundf) after multiplying by the float32 1/d.
//
//	x (multiple of 32) -> dst (len(x)/32 blocks of 34 bytes)
func QuantizeRowQ8_0(x []float32, dst []byte) { quantizeRowQ8_0(x, dst, false) }

// QuantizeActRowQ8_0 encodes activations as Q8_0 the way ggml-cpu's
// vectorized quantize_row_q8_0 does on x86 and ARM (127/amax, round half to
// even), which is what llama.cpp feeds its Q4_0/Q5_0/Q8_0 dot products.
//
//	x (multiple of 32) -> dst (len(x)/32 blocks of 34 bytes)
func QuantizeActRowQ8_0(x []float32, dst []byte) { quantizeRowQ8_0(x, dst, true) }

func quantizeRowQ8_0(x []float32, dst []byte, vec bool) {
	for i := 0; i < len(x)/qk32; i++ {
		b := dst[i*blockQ8_0 : (i+1)*blockQ8_0]
		d, _ := quantQ8With(x[i*qk32:], b[2:], vec)
		putHalf(b, d)
	}
}

// dequantQ8 decodes Q8_0 or Q8_1 blocks: the f16 d at offset 0 and 32 int8
// quants at offset qs of each block.
func dequantQ8(src []byte, dst []float32, blockSize, qs int) {
	for i := 0; i < len(dst)/qk32; i++ {
		b := src[i*blockSize : (i+1)*blockSize]
		y := dst[i*qk32 : (i+1)*qk32]
		d := half(b)
		for j, q := range b[qs : qs+qk32] {
			y[j] = float32(int8(q)) * d
		}
	}
}

// quantQ8 quantizes one block of 32 as quantize_row_q8_0_ref and
// quantize_row_q8_1_ref do: d = amax/127, q = roundf(x * (1/d)), with amax
// accumulated by C's MAX macro (so a NaN element poisons it the same way).
// It returns the float32 d and the sum of the quants.
func quantQ8(x []float32, qs []byte) (d float32, sum int32) {
	return quantQ8With(x, qs, false)
}

// quantQ8With is quantQ8, or with vec set the variant of ggml-cpu's
// vectorized quantize_row_q8_0/q8_1 (x86 AVX2/AVX-512, ARM NEON): the
// inverse scale is 127/amax rather than 1/d, and quants round half to even.
func quantQ8With(x []float32, qs []byte, vec bool) (d float32, sum int32) {
	x, qs = x[:qk32], qs[:qk32]
	var amax float32
	for _, v := range x {
		a := abs32(v)
		if !(amax > a) {
			amax = a
		}
	}
	d = amax / 127
	var id float32
	switch {
	case vec && amax != 0:
		id = 127 / amax
	case !vec && d != 0:
		id = 1 / d
	}
	for j, v := range x {
		var q int8
		if vec {
			q = int8(math.RoundToEven(float64(v * id)))
		} else {
			q = int8(roundf(v * id))
		}
		qs[j] = byte(q)
		sum += int32(q)
	}
	return d, sum
}

// VecDotQ8_0 is ggml_vec_dot_q8_0_q8_0_generic.
//
//	w (n/32 Q8_0 blocks) . a (n/32 Q8_0 blocks) -> float32
func VecDotQ8_0(n int, w, a []byte) float32 {
	var sumf float32
	for i := 0; i < n/qk32; i++ {
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
