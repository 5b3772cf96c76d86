// Package kernels holds the hot loops of inference: threaded matrix-vector and
// matrix-matrix products over quantized weights on a persistent worker pool,
// RMSNorm, RoPE, softmax, attention and the SwiGLU activation.
//
// Kernels know block formats only through package quant; they never import
// model, tokenizer or gguf.
package kernels
