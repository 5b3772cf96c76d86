// Package quant holds the ggml tensor element types and their block formats:
// for each format the block layout, Dequantize, a quantizer, and a scalar dot
// product that serves as the specification for the fast kernels.
//
// Implemented: F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1, Q2_K, Q3_K,
// Q4_K, Q5_K, Q6_K and Q8_K, one file per format with its byte layout in a
// comment. Everything follows llama.cpp's C code (ggml-quants.c and the
// generic paths of ggml-cpu/quants.c) operation by operation, in float32 with
// every product rounded before it is added:
//
//   - Quantize is quantize_row_*_ref (no importance matrix). Quantizing the
//     F32 weights of a model reproduces llama-quantize's output byte for byte.
//   - VecDot is ggml_vec_dot_*_generic: weights of type t against activations
//     already quantized to VecDotType(t) (Q8_0, Q8_1 or Q8_K for the block
//     formats), integer sums within blocks, float32 accumulation in ggml's
//     order (including the 8 lane sums of the K-quant dots).
//   - FP32ToFP16 rounds to nearest even like F16C; FP32ToBF16 is ggml's.
//
// Dequantize, Quantize and VecDot dispatch on the type and validate sizes.
// Kernels call the per-format row functions directly (DequantizeRowQ4_K,
// QuantizeRowQ8_K, VecDotQ4_K, ...): they take whole blocks, never
// allocate, and panic only if a slice is shorter than the row.
package quant
