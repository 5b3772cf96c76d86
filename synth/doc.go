// Package synth writes random-weight GGUF models with the exact shapes of
// released models (Qwen2.5, Qwen3, Qwen3-MoE, DeepSeek-R1-Distill-Qwen,
// Llama 3.2), so that an engine's speed on a model can be measured, and
// compared with other engines on the identical file, without downloading it.
//
// A synthetic file carries what the released GGUF carries: the
// hyperparameters (layers, heads, key/value heads, head size, FFN and expert
// sizes, RoPE base and scaling, norm epsilon, tied output, biases, q/k norms),
// tensors of the real shapes quantized with llama.cpp's type mix for the
// chosen recipe (package quantize), and a byte-level BPE vocabulary of the
// real size: the 256 byte tokens, merges built deterministically from letter
// sequences, the model's special tokens at their real ids, and padding.
// llama.cpp loads such files.
//
// Weights are random but cheap to make: each row of a quantized tensor is a
// random sequence of blocks drawn from a pool of blocks that the reference
// quantizer encoded from uniform random numbers scaled by 1/sqrt(fan-in). The
// file is a deterministic function of the shape, the recipe and the seed.
package synth
