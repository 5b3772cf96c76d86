package model

// qwen3: Qwen3 dense models. Like qwen2 without the QKV bias, plus an RMS
// norm over each head of q and k before the rotation; the head size
// (attention.key_length) is independent of embedding_length/head_count.
func init() {
	register(Arch{Name: "qwen3", RopeNeoX: true, QKNorm: true})
}
