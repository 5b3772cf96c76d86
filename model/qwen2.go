package model

// qwen2: Qwen2 and Qwen2.5, and DeepSeek-R1-Distill-Qwen. Like llama but
// with biases on q, k and v, and rotary embeddings on halves (NeoX layout);
// small models tie the output to token_embd.
func init() {
	register(Arch{Name: "qwen2", RopeNeoX: true})
}
