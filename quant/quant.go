package quant

import (
	"encoding/binary"
	"fmt"
	"math"
)

// format holds the row functions of one implemented type. Rows are whole
// blocks: dequant and quant take len(dst) (resp. len(src)) elements, dot
// takes n elements of weights and activations.
type format struct {
	dequant func(src []byte, dst []float32)
	quant   func(src []float32, dst []byte)
	dot     func(n int, w, a []byte) float32 // nil: ggml has no dot with this type as weights
	dotType Type
}

// formats is indexed by Type; nil entries are types without an implementation.
var formats = [...]*format{
	F32:  {DequantizeRowF32, QuantizeRowF32, VecDotF32, F32},
	F16:  {DequantizeRowF16, QuantizeRowF16, VecDotF16, F16},
	BF16: {DequantizeRowBF16, QuantizeRowBF16, VecDotBF16, BF16},
	Q4_0: {DequantizeRowQ4_0, QuantizeRowQ4_0, VecDotQ4_0, Q8_0},
	Q4_1: {DequantizeRowQ4_1, QuantizeRowQ4_1, VecDotQ4_1, Q8_1},
	Q5_0: {DequantizeRowQ5_0, QuantizeRowQ5_0, VecDotQ5_0, Q8_0},
	Q5_1: {DequantizeRowQ5_1, QuantizeRowQ5_1, VecDotQ5_1, Q8_1},
	Q8_0: {DequantizeRowQ8_0, QuantizeRowQ8_0, VecDotQ8_0, Q8_0},
	Q8_1: {DequantizeRowQ8_1, QuantizeRowQ8_1, nil, Q8_1},
	Q2_K: {DequantizeRowQ2_K, QuantizeRowQ2_K, VecDotQ2_K, Q8_K},
	Q3_K: {DequantizeRowQ3_K, QuantizeRowQ3_K, VecDotQ3_K, Q8_K},
	Q4_K: {DequantizeRowQ4_K, QuantizeRowQ4_K, VecDotQ4_K, Q8_K},
	Q5_K: {DequantizeRowQ5_K, QuantizeRowQ5_K, VecDotQ5_K, Q8_K},
	Q6_K: {DequantizeRowQ6_K, QuantizeRowQ6_K, VecDotQ6_K, Q8_K},
	Q8_K: {DequantizeRowQ8_K, QuantizeRowQ8_K, nil, Q8_K},
}

func lookup(t Type) *format {
	if int(t) < len(formats) {
		return formats[t]
	}
	return nil
}

// Supported reports whether this package implements Dequantize and Quantize
// for t.
func Supported(t Type) bool { return lookup(t) != nil }

// checkRow validates that n elements of t are whole blocks stored in exactly
// size bytes.
func checkRow(op string, t Type, n, size int) (*format, error) {
	f := lookup(t)
	if f == nil {
		if t.Known() {
			return nil, fmt.Errorf("quant: %s: type %s is not implemented", op, t)
		}
		return nil, fmt.Errorf("quant: %s: unknown tensor type %d", op, uint32(t))
	}
	want, err := t.RowSize(n)
	if err != nil {
		return nil, fmt.Errorf("quant: %s: %w", op, err)
	}
	if size != want {
		return nil, fmt.Errorf("quant: %s: %d %s elements take %d bytes, got %d", op, n, t, want, size)
	}
	return f, nil
}

// Dequantize decodes src, which holds len(dst) elements of type t, into dst.
// len(dst) must be a whole number of blocks and len(src) exactly their size.
// Any bytes decode without panicking (a broken scale may give Inf or NaN).
//
//	src (len(dst) elements of t) -> dst (len(dst))
func Dequantize(t Type, src []byte, dst []float32) error {
	f, err := checkRow("dequantize", t, len(dst), len(src))
	if err != nil {
		return err
	}
	f.dequant(src, dst)
	return nil
}

// Quantize encodes src as type t into dst with llama.cpp's reference
// quantizer for t (quantize_row_*_ref: no importance matrix). len(src) must be
// a whole number of blocks and len(dst) exactly their size.
//
//	src (n) -> dst (n elements of t)
func Quantize(t Type, src []float32, dst []byte) error {
	f, err := checkRow("quantize", t, len(src), len(dst))
	if err != nil {
		return err
	}
	f.quant(src, dst)
	return nil
}

// VecDotType returns the type llama.cpp quantizes activations to before a dot
// product with weights of type t: Q8_0 for Q4_0/Q5_0/Q8_0, Q8_1 for
// Q4_1/Q5_1, Q8_K for the K-quants, and t itself for F32, F16 and BF16. For
// types without a dot product (Q8_1, Q8_K, unimplemented types) it returns t.
func VecDotType(t Type) Type {
	if f := lookup(t); f != nil {
		return f.dotType
	}
	return t
}

// VecDot returns the dot product of one row of n weights of type t with n
// activations already quantized to VecDotType(t). It is the scalar
// specification of the kernels and follows ggml's generic
// ggml_vec_dot_*_generic: integer sums within a block, scaled and accumulated
// in float32 in the same order. It panics if t has no dot product, n is not a
// whole number of blocks, or w or a is shorter than n elements (a caller's
// broken invariant, not bad input).
//
//	w (n of t) . a (n of VecDotType(t)) -> float32
func VecDot(t Type, n int, w, a []byte) float32 {
	f := lookup(t)
	if f == nil || f.dot == nil {
		panic(fmt.Sprintf("quant: VecDot: no dot product for type %s", t))
	}
	if n < 0 || n%t.BlockLen() != 0 {
		panic(fmt.Sprintf("quant: VecDot: %d elements is not a whole number of %s blocks", n, t))
	}
	return f.dot(n, w, a)
}

// HasVecDot reports whether VecDot supports weights of type t.
func HasVecDot(t Type) bool {
	f := lookup(t)
	return f != nil && f.dot != nil
}

// le16 reads a little-endian uint16 at b[0:2].
func le16(b []byte) uint16 { return binary.LittleEndian.Uint16(b) }

// half reads a little-endian IEEE half at b[0:2] as float32.
func half(b []byte) float32 { return FP16ToFP32(binary.LittleEndian.Uint16(b)) }

// putHalf stores f as a little-endian IEEE half at b[0:2].
func putHalf(b []byte, f float32) { binary.LittleEndian.PutUint16(b, FP32ToFP16(f)) }

// nearestInt rounds f to the nearest integer, ties to even, the way ggml's
// nearest_int does (adding 1.5*2^23 and reading the mantissa). It is exact for
// |f| <= 4194303; beyond that, like ggml, it returns a meaningless but
// harmless value.
func nearestInt(f float32) int {
	// float32(f): callers pass products, which must not fuse with the add.
	v := float32(f) + 12582912
	return int(math.Float32bits(v)&0x007fffff) - 0x00400000
}

// absMax returns the largest |x| and the element that has it (the first one
// on ties), as ggml's quantizers find it.
func absMax(x []float32) (amax, max float32) {
	for _, v := range x {
		if a := abs32(v); a > amax {
			amax, max = a, v
		}
	}
	return amax, max
}

func abs32(f float32) float32 { return math.Float32frombits(math.Float32bits(f) &^ (1 << 31)) }

func sqrt32(f float32) float32 { return float32(math.Sqrt(float64(f))) }

// roundf rounds half away from zero, as C's roundf.
func roundf(f float32) float32 { return float32(math.Round(float64(f))) }

// QuantizeActivations quantizes one row of activations x to the activation
// type t (a VecDotType) as llama.cpp's CPU backend does before its dot
// products: Q8_0 and Q8_1 with the vectorized quantizers' rounding
// (QuantizeActRowQ8_0/Q8_1), every other type as Quantize.
func QuantizeActivations(t Type, x []float32, dst []byte) error {
	switch t {
	case Q8_0, Q8_1:
		rs, err := t.RowSize(len(x))
		if err != nil {
			return err
		}
		if len(dst) < rs {
			return fmt.Errorf("quant: %s activations of %d elements need %d bytes, have %d", t, len(x), rs, len(dst))
		}
		if t == Q8_0 {
			QuantizeActRowQ8_0(x, dst)
		} else {
			QuantizeActRowQ8_1(x, dst)
		}
		return nil
	}
	return Quantize(t, x, dst)
}
