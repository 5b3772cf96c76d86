package model

import (
	"fmt"
	"math"

	"github.com/qilin-ai/qilin/gguf"
)

// deepseek2: DeepSeek-V2, V2-Lite, V3 and R1, Kimi K2, Moonlight. Multi-head
// latent attention (attn_mla.go) with rotary embeddings on adjacent pairs
// of each head's last rope.dimension_count values, the first
// leading_dense_block_count layers dense, the rest DeepSeek-MoE (moe.go):
// softmax or sigmoid router with an optional selection bias, group-limited
// top-k, weights optionally normalized and scaled, and shared experts.
func init() {
	register(Arch{Name: "deepseek2", MoE: true, MLA: true})
}

// readMLA reads the sizes of multi-head latent attention. Files converted
// since llama.cpp split attn_kv_b carry attention.key_length_mla and
// value_length_mla (the per-head sizes; key_length and value_length are
// then the cache row, kv_lora_rank + rope, and kv_lora_rank); older files
// have the per-head sizes in key_length and value_length.
func (c *Config) readMLA(f *gguf.File, m *metaReader) error {
	get := m.get
	c.KVLoraRank = get("attention.kv_lora_rank", 0, true)
	c.QLoraRank = get("attention.q_lora_rank", 0, false)
	if _, ok := f.Get(f.ArchKey("attention.key_length_mla")); ok {
		c.HeadDimK = get("attention.key_length_mla", 0, true)
		c.HeadDimV = get("attention.value_length_mla", 0, true)
	}
	if m.err != nil {
		return m.err
	}
	has := func(name string) bool { _, ok := f.Tensor(name); return ok }
	if has("blk.0.attn_q.weight") {
		c.QLoraRank = 0 // attn_q projects directly, as in DeepSeek-V2-Lite
	} else if c.QLoraRank == 0 {
		return fmt.Errorf("model: deepseek2 without attn_q needs attention.q_lora_rank")
	}
	c.KVB = !has("blk.0.attn_k_b.weight")
	switch {
	case c.KVLoraRank == 0:
		return fmt.Errorf("model: attention.kv_lora_rank must be positive")
	case c.HeadDimK <= c.Rope.Dims || c.HeadDimV == 0:
		return fmt.Errorf("model: MLA head sizes %d (with %d rotated) and %d are invalid", c.HeadDimK, c.Rope.Dims, c.HeadDimV)
	}
	return nil
}

// mlaScale is the attention's score scale as llama.cpp's deepseek2 graph
// computes it: 1/sqrt(head_k) times the square of YaRN's magnitude factor
// (which DeepSeek applies to the scores rather than to q and k), recovered
// from the RoPE's attention factor.
func (c *Config) mlaScale() float32 {
	fs := float32(c.Rope.FreqScale)
	attn := c.Rope.AttnFactor
	if attn == 0 {
		attn = 1
	}
	org := attn * (1 + float32(0.1*logf(1/fs)))
	mscale := org * (1 + float32(float32(0.1*c.YaRNLogMul)*logf(1/fs)))
	return float32(mscale*mscale) / float32(math.Sqrt(float64(c.HeadDimK)))
}
