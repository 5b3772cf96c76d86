// Package model loads transformer language models from GGUF files and runs
// their forward pass.
//
// What differs between families as data is data (QKV bias, NeoX RoPE, tied
// output, per-head q/k norm, router flavour), declared per architecture in
// families.go and read from the file. What differs as dataflow is a small
// interface with one file per kind, chosen per layer:
//
//	runner.go    Batch, the Runner's buffers and arena, Forward: embed -> layers -> norm -> logits
//	attn_gqa.go  grouped-query attention (mixer)
//	attn_mla.go  multi-head latent attention, DeepSeek-V2/V3 (mixer)
//	attn_gated.go  Qwen3.5's gated full attention (mixer)
//	deltanet.go  Gated DeltaNet, a recurrent layer with a fixed-size state (mixer)
//	ffn.go       dense SwiGLU FFN (feedForward), also the shared experts of an MoE layer
//	moe.go       mixture of experts: router and dispatch (feedForward)
//	cache.go     a sequence's per-layer state, its rows as wide as the layer's kind needs
//	sequence.go  where a cache with recurrent layers can resume: its end and its snapshots
//	bind.go      each block declares its GGUF tensors; Load binds that list, and
//	             Tensors exports it to writers of models (synth, tests)
//	config.go    hyperparameters from metadata
//	families.go  the architectures as data, and which kinds each layer uses
//	deepseek2.go, qwen35.go  the families with their own metadata (MLA; hybrid layer pattern)
//
// Model code never touches SIMD, threads or block formats: that is package
// kernels.
package model
