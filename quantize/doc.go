// Package quantize converts GGUF model files between tensor types the way
// llama.cpp's llama-quantize does: a file type (a recipe such as Q4_K_M)
// picks a type for every tensor by its role, its layer and its shape, and
// tensors are re-encoded with the reference quantizers of package quant.
//
// The recipe rules follow llama_tensor_get_type in llama.cpp's
// src/llama-quant.cpp: the output projection (and a token embedding tied to
// it) gets Q6_K, attn_v and ffn_down of the first and last eighth of the
// layers and of every third layer between get more bits in the _M mixes, and
// a row length that is not a whole number of K-quant super-blocks (256) falls
// back to a 32-element format (Q4_K to Q5_0, Q5_K to Q5_1, Q6_K to Q8_0, Q2_K
// and Q3_K to Q4_0). Tensors are written in llama.cpp's order (by layer, then
// by name) so that the counters the rules use agree with it.
//
// Files are written through WriteGGUF, which streams each tensor's bytes as
// it is produced (so a model larger than memory can be written) to a
// temporary file that is renamed over the output only once complete.
package quantize
