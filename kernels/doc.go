// Package kernels holds the hot loops of inference: threaded matrix-vector and
// matrix-matrix products over quantized weights on a persistent worker pool,
// RMSNorm, RoPE, softmax, attention and the SwiGLU activation.
//
// Kernels know block formats only through package quant; they never import
// model, tokenizer or gguf.
//
// # Implementations
//
// Every kernel has a pure-Go twin (the generic set, which calls package
// quant's scalar specifications). On amd64 with AVX2, FMA and F16C an AVX2
// set is chosen at run time (golang.org/x/sys/cpu); on arm64 a NEON set
// (with the dot-product instructions where present). Implementation names
// the set in use, and the build tag purego forces the generic set. The
// assembly is generated, never edited by hand: kernels_amd64.s by the avo
// program in _asm, kernels_arm64.s by the program in _asm/arm64.
//
// Activations are quantized as llama.cpp quantizes them (Q8_0 for
// Q4_0/Q5_0/Q8_0 weights, Q8_1 for Q4_1/Q5_1, Q8_K for K-quants) and dotted
// with exact integer arithmetic. The float steps follow llama.cpp's x86
// build (-march=native on an AVX-512 CPU, the machine of the shared
// references) in every set, bit for bit: the dot products in ggml's AVX2
// vec_dot lane order, Q4_0 and Q4_K as its repacked gemv/gemm kernels
// accumulate them (twin.go and twin_x86.go hold the pure-Go twins);
// attention as its flash attention with an f16 cache (ggml_vec_dot_f16's
// 16-lane sums, fused f16 accumulation, glibc's expf); RoPE with fused
// rotations and glibc's powf, sinf and cosf (libm.go); SwiGLU with
// ggml_v_expf. The NEON set keeps the generic twins for the formats whose
// NEON kernels are not yet regenerated in that order. A one-token dot
// kernel runs over a whole chunk of weight rows per call.

// # Threads
//
// A Pool splits each MatMul by output rows into chunks taken dynamically by
// its threads; its workers spin briefly between calls, so that the few
// hundred small products of a decoded token do not each pay a wake-up. For
// batches the chunks are sized to stay in L2 while every group of four
// activation rows passes over them, so weights are read from memory once per
// call, not once per token. For Q8_0 and Q5_0 weights, the 8 to 31 tokens
// of a continuous-batching decode step go through an eight-token kernel that
// unpacks each weight block in place once for eight activation rows; from
// 32 rows on (prefill), chunks are first repacked (signed bytes, float32
// scales) and multiplied by a tiled kernel, two weight rows by four
// activation rows per pass, so that each activation block is also loaded
// once per two rows. Every result keeps the one-row kernel's order, so a
// token's outputs do not depend on its batch.
package kernels
