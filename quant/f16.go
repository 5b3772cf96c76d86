package quant

import (
	"encoding/binary"
	"math"
)

// F16: IEEE 754 binary16, 2 bytes little-endian per element:
//
//	bit 15 sign | bits 14..10 exponent (bias 15) | bits 9..0 mantissa
//
// BF16: bfloat16, the top half of a float32, 2 bytes little-endian:
//
//	bit 15 sign | bits 14..7 exponent (bias 127) | bits 6..0 mantissa

// FP16ToFP32 converts an IEEE half to float32 exactly. Subnormals are kept,
// infinities stay infinite and a NaN stays a NaN (made quiet, payload kept).
func FP16ToFP32(h uint16) float32 {
	if h&0x7c00-0x400 < 0x7800 { // exponent neither 0 nor 31: a normal number
		// Rebias the exponent by 127-15 = 112 and widen the mantissa.
		u := uint32(h)
		return math.Float32frombits(u&0x8000<<16 | (u&0x7fff+112<<10)<<13)
	}
	return fp16SpecialToFP32(h)
}

// fp16SpecialToFP32 converts zeros, subnormals, infinities and NaNs.
func fp16SpecialToFP32(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	mant := uint32(h & 0x3ff)
	if h&0x7c00 == 0 {
		// Zero or subnormal: mant * 2^-24, exact in float32.
		f := float32(mant) * (1.0 / (1 << 24))
		return math.Float32frombits(math.Float32bits(f) | sign)
	}
	if mant != 0 {
		return math.Float32frombits(sign | 0x7fc00000 | mant<<13)
	}
	return math.Float32frombits(sign | 0x7f800000)
}

// FP32ToFP16 converts f to the nearest IEEE half, ties to even, as ggml does
// (and as F16C's vcvtps2ph with round-to-nearest): values from 65520 up become
// Inf, tiny values become subnormals or signed zero, and a NaN becomes the
// quiet NaN 0x7e00 with f's sign.
func FP32ToFP16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23) & 0xff
	mant := b & 0x7fffff
	if exp == 0xff {
		if mant != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	}
	e := exp - 127 + 15 // biased half exponent
	if e >= 0x1f {
		return sign | 0x7c00
	}
	if e <= 0 {
		// Half subnormal: round(m * 2^(exp-126)) with the implicit bit made
		// explicit; below 2^-25 everything rounds to zero.
		if e < -10 {
			return sign
		}
		m := mant | 0x800000
		shift := uint32(14 - e)
		h := m >> shift
		rem := m & (1<<shift - 1)
		halfway := uint32(1) << (shift - 1)
		if rem > halfway || rem == halfway && h&1 == 1 {
			h++ // may carry into the smallest normal, which is the right encoding
		}
		return sign | uint16(h)
	}
	h := uint32(e)<<10 | mant>>13
	rem := mant & 0x1fff
	if rem > 0x1000 || rem == 0x1000 && h&1 == 1 {
		h++ // a carry into the exponent is right, up to Inf
	}
	return sign | uint16(h)
}

// BF16ToFP32 converts a bfloat16 to float32 exactly.
func BF16ToFP32(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// FP32ToBF16 converts f to bfloat16 as ggml does: round to nearest, ties to
// even, subnormals kept, and a NaN truncated and forced quiet.
func FP32ToBF16(f float32) uint16 {
	u := math.Float32bits(f)
	if u&0x7fffffff > 0x7f800000 {
		return uint16(u>>16) | 64
	}
	return uint16((u + 0x7fff + (u>>16)&1) >> 16)
}

// DequantizeRowF16 converts len(dst) halves from src.
//
//	src (2*len(dst) bytes) -> dst
func DequantizeRowF16(src []byte, dst []float32) { decode16(src, dst, FP16ToFP32) }

// QuantizeRowF16 stores x as halves in dst (2*len(x) bytes).
func QuantizeRowF16(x []float32, dst []byte) { encode16(x, dst, FP32ToFP16) }

// VecDotF16 is ggml_vec_dot_f16's scalar path: each product is rounded to
// float32 and the sum is accumulated in float64.
//
//	w (n halves) . a (n halves) -> float32
func VecDotF16(n int, w, a []byte) float32 { return dot16(n, w, a, FP16ToFP32) }

// DequantizeRowBF16 converts len(dst) bfloat16 values from src.
//
//	src (2*len(dst) bytes) -> dst
func DequantizeRowBF16(src []byte, dst []float32) { decode16(src, dst, BF16ToFP32) }

// QuantizeRowBF16 stores x as bfloat16 in dst (2*len(x) bytes).
func QuantizeRowBF16(x []float32, dst []byte) { encode16(x, dst, FP32ToBF16) }

// VecDotBF16 is ggml_vec_dot_bf16's scalar path: float32 products summed in
// float64.
//
//	w (n bf16) . a (n bf16) -> float32
func VecDotBF16(n int, w, a []byte) float32 { return dot16(n, w, a, BF16ToFP32) }

// decode16 converts len(dst) little-endian 16-bit floats.
func decode16(src []byte, dst []float32, conv func(uint16) float32) {
	src = src[:2*len(dst)]
	for i := range dst {
		dst[i] = conv(binary.LittleEndian.Uint16(src[2*i:]))
	}
}

// encode16 stores x as little-endian 16-bit floats.
func encode16(x []float32, dst []byte, conv func(float32) uint16) {
	dst = dst[:2*len(x)]
	for i, v := range x {
		binary.LittleEndian.PutUint16(dst[2*i:], conv(v))
	}
}

// dot16 sums the float32 products of n 16-bit floats in float64, as ggml's
// scalar vec_dot_f16 and vec_dot_bf16 do.
func dot16(n int, w, a []byte, conv func(uint16) float32) float32 {
	w, a = w[:2*n], a[:2*n]
	var sum float64
	for i := 0; i < 2*n; i += 2 {
		p := float32(conv(binary.LittleEndian.Uint16(w[i:])) * conv(binary.LittleEndian.Uint16(a[i:])))
		sum += float64(p)
	}
	return float32(sum)
}
