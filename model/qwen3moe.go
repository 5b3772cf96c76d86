package model

// qwen3moe: Qwen3 mixture-of-experts models (Qwen3-30B-A3B). Attention as
// qwen3; the FFN routes each token to expert_used_count of expert_count
// experts by a softmax over the router logits, renormalizing the chosen
// experts' weights to sum to one.
func init() {
	register(Arch{Name: "qwen3moe", RopeNeoX: true, QKNorm: true, MoE: true, NormTopKProb: true})
}
