package quant

// Q8_1: blocks of 32 elements, 36 bytes:
//
//	offset 0   d   f16        scale
//	offset 2   s   f16        d * sum(qs), so the min of Q4_1/Q5_1 weights can be applied once per block
//	offset 4   qs  int8[32]   element j = qs[j] * d
//
// Q8_1 is the activation format that Q4_1 and Q5_1 weights are dotted with;
// ggml has no dot product with Q8_1 weights.

const blockQ8_1 = 36

// DequantizeRowQ8_1 decodes len(dst)/32 Q8_1 blocks from src.
//
//	src (len(dst)/32 blocks of 36 bytes) -> dst (multiple of 32)
func DequantizeRowQ8_1(src []byte, dst []float32) { dequantQ8(src, dst, blockQ8_1, 4) }

// QuantizeRowQ8_1 encodes x as Q8_1 into dst, exactly as
// quantize_row_q8_1_ref: the quants as Q8_0's, and s = f16(sum(qs) * d)
// with the unrounded float32 d.
//
//	x (multiple of 32) -> dst (len(x)/32 blocks of 36 bytes)
func QuantizeRowQ8_1(x []float32, dst []byte) { quantizeRowQ8_1(x, dst, false) }

// QuantizeActRowQ8_1 encodes activations as Q8_1 the way ggml-cpu's
// vectorized quantize_row_q8_1 does on x86 and ARM (127/amax, round half to
// even), as llama.cpp feeds its Q4_1/Q5_1 dot products.
//
//	x (multiple of 32) -> dst (len(x)/32 blocks of 36 bytes)
func QuantizeActRowQ8_1(x []float32, dst []byte) { quantizeRowQ8_1(x, dst, true) }

func quantizeRowQ8_1(x []float32, dst []byte, vec bool) {
	for i := 0; i < len(x)/qk32; i++ {
		b := dst[i*blockQ8_1 : (i+1)*blockQ8_1]
		d, sum := quantQ8With(x[i*qk32:], b[4:], vec)
		putHalf(b, d)
		putHalf(b[2:], float32(sum)*d)
	}
}
