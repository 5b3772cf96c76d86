package model

// llama: Llama 2/3, TinyStories and the DeepSeek-R1-Distill-Llama models.
// RMSNorm, rotary embeddings on adjacent pairs (GGUF conversion permutes
// q/k weights for this layout), grouped-query attention, SwiGLU FFN. The
// output projection may be tied to token_embd; Llama 3.1+ files carry
// rope_freqs for long-context frequency scaling.
func init() {
	register(Arch{Name: "llama"})
}
