package kernels

import "math"

// RMSNorm writes out = x / sqrt(mean(x²) + eps) * w.
//
//	x (n), w (n) -> out (n)
//
// As in ggml: each square is a float32 product, the sum is accumulated in
// float64, and the mean, the square root and its inverse are float32.
// Following those roundings exactly matters: a last-bit difference in the
// scale changes how activations round when quantized to 8 bits.
func RMSNorm(out, x, w []float32, eps float32) {
	var ss float64
	for _, v := range x {
		ss += float64(v * v)
	}
	mean := float32(ss / float64(len(x)))
	scale := 1 / float32(math.Sqrt(float64(mean+eps)))
	if w == nil {
		for i, v := range x {
			out[i] = v * scale
		}
		return
	}
	w = w[:len(x)]
	for i, v := range x {
		out[i] = v * scale * w[i]
	}
}

// Add writes dst[i] += src[i].
func Add(dst, src []float32) {
	src = src[:len(dst)]
	for i := range dst {
		dst[i] += src[i]
	}
}

// Exp writes dst[i] = float32(math.Exp(float64(x[i]))) for i < len(dst),
// vectorized (the attention's exponential); x may be dst.
func Exp(dst, x []float32) { active.exp(dst, x[:len(dst)]) }

// SwiGLU writes gate[i] = silu(gate[i]) * up[i], silu(x) = x / (1 + e^-x),
// as llama.cpp's AVX-512 build computes it (ggml_vec_swiglu_f32): e^-x by
// ggml_v_expf's float32 polynomial (vExpf) for each whole group of 16
// elements, by glibc's expf for the rest. A row of n_ff values is one call,
// or several rows at once when n_ff is a multiple of 16.
//
//	gate (n), up (n) -> gate (n)
func SwiGLU(gate, up []float32) { active.swiglu(gate, up[:len(gate)]) }

// swigluGo is the generic SwiGLU.
func swigluGo(gate, up []float32) {
	up = up[:len(gate)]
	n16 := len(gate) &^ 15
	for i, g := range gate[:n16] {
		gate[i] = g / (1 + vExpf(0-g)) * up[i]
	}
	swigluTail(gate[n16:], up[n16:])
}

// swigluTail is ggml's scalar SiLU times up: x / (1 + expf(-x)) * up.
func swigluTail(gate, up []float32) {
	for i, g := range gate {
		gate[i] = g / (1 + expf(-g)) * up[i]
	}
}

// vExpf is ggml_v_expf of llama.cpp's AVX-512 build for one lane: e^x by a
// float32 range reduction (two fused multiply-adds) and polynomial, scaled
// by 2^n with a single rounding (VSCALEFPS); 0 or +Inf beyond |n| > 192.
func vExpf(x float32) float32 {
	const r = 0x1.8p23
	z := fma32(x, 0x1.715476p+0, r)
	n := z - r
	b := fma32(-n, 0x1.7f7d1cp-20, fma32(-n, 0x1.62e4p-1, x))
	u := b * b
	j := fma32(fma32(fma32(0x1.0e4020p-7, b, 0x1.573e2ep-5), u, fma32(0x1.555e66p-3, b, 0x1.fffdb6p-2)), u,
		fma32(0x1.ffffecp-1, b, 1))
	switch {
	case n != n:
		return n
	case n > 192:
		return float32(math.Inf(1))
	case n < -192:
		return 0
	}
	return float32(float64(j) * math.Ldexp(1, int(n)))
}

// Softmax replaces x by softmax(x) in place, subtracting the maximum first.
func Softmax(x []float32) {
	if len(x) == 0 {
		return
	}
	m := x[0]
	for _, v := range x[1:] {
		if v > m {
			m = v
		}
	}
	var sum float64
	for i, v := range x {
		e := float32(math.Exp(float64(v - m)))
		x[i] = e
		sum += float64(e)
	}
	inv := float32(1 / sum)
	for i := range x {
		x[i] *= inv
	}
}

// Dot returns the float32 dot product of a and b, accumulated in float32
// with four partial sums.
func Dot(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += float32(a[i] * b[i]) // rounded: the same result on every platform
		s1 += float32(a[i+1] * b[i+1])
		s2 += float32(a[i+2] * b[i+2])
		s3 += float32(a[i+3] * b[i+3])
	}
	for ; i < len(a); i++ {
		s0 += float32(a[i] * b[i])
	}
	return (s0 + s1) + (s2 + s3)
}

// Axpy writes y[i] += a * x[i].
func Axpy(y []float32, a float32, x []float32) {
	x = x[:len(y)]
	for i := range y {
		y[i] += float32(a * x[i]) // rounded: no fused multiply-add on any platform
	}
}

// Scale writes dst[i] = a * x[i], each product rounded to float32.
func Scale(dst []float32, a float32, x []float32) {
	x = x[:len(dst)]
	for i := range dst {
		dst[i] = float32(a * x[i])
	}
}
