// Package model loads transformer language models from GGUF files and runs
// their forward pass.
//
// One generic decoder-only transformer covers the supported families; what
// differs between them (QKV bias, NeoX RoPE, tied output, per-head q/k norm,
// MoE routing) is data read from the file, declared per architecture in
// llama.go, qwen2.go, qwen3.go and qwen3moe.go. Model code never touches SIMD,
// threads or block formats: that is package kernels.
package model
