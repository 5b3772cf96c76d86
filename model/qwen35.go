package model

import (
	"fmt"

	"github.com/qilin-ai/qilin/gguf"
)

// qwen35: Qwen3.5 (dense 0.8B to 27B) and qwen35moe (35B-A3B and up), the
// hybrid of Gated DeltaNet (deltanet.go), a linear attention with a
// fixed-size recurrent state per sequence, and gated full attention
// (attn_gated.go) in every full_attention_interval-th layer. The FFN's norm
// is post_attention_norm; the MoE FFN has a shared expert scaled by a
// sigmoid gate. Multi-token-prediction blocks (nextn_predict_layers) follow
// the trunk in the file and are not run.
func init() {
	register(Arch{Name: "qwen35", RopeNeoX: true, QKNorm: true, Hybrid: true})
	register(Arch{Name: "qwen35moe", RopeNeoX: true, QKNorm: true, Hybrid: true, MoE: true, NormTopKProb: true})
}

// SSM holds the sizes of a Gated DeltaNet layer (ssm.* metadata).
type SSM struct {
	ConvKernel int // ssm.conv_kernel: taps of the causal conv1d over q, k, v
	Inner      int // ssm.inner_size: value heads × their size
	State      int // ssm.state_size: the key (and value) head size
	VHeads     int // ssm.time_step_rank: value heads, each with its own gates and state
	KHeads     int // ssm.group_count: key heads; value head h reads key head h % KHeads
}

// KeyDim is the width of q and of k (n_k_heads × head size).
func (s SSM) KeyDim() int { return s.KHeads * s.State }

// ConvDim is the width of the convolved [q, k, v] rows.
func (s SSM) ConvDim() int { return 2*s.KeyDim() + s.Inner }

// readHybrid reads the Gated DeltaNet sizes and which layers are recurrent:
// attention.recurrent_layers where the file lists them, otherwise every
// layer but each full_attention_interval-th (default 4). NLayer becomes the
// trunk, block_count less nextn_predict_layers.
func (c *Config) readHybrid(f *gguf.File, m *metaReader) error {
	get := m.get
	c.SSM = SSM{
		ConvKernel: get("ssm.conv_kernel", 0, true),
		Inner:      get("ssm.inner_size", 0, true),
		State:      get("ssm.state_size", 0, true),
		VHeads:     get("ssm.time_step_rank", 0, true),
		KHeads:     get("ssm.group_count", 0, true),
	}
	c.NNextN = get("nextn_predict_layers", 0, false)
	interval := get("full_attention_interval", 4, false)
	if m.err != nil {
		return m.err
	}
	s := c.SSM
	switch {
	case s.ConvKernel < 1 || s.ConvKernel > 64 || s.State == 0 || s.VHeads == 0 || s.KHeads == 0:
		return fmt.Errorf("model: ssm conv_kernel %d, state_size %d, time_step_rank %d, group_count %d are invalid",
			s.ConvKernel, s.State, s.VHeads, s.KHeads)
	case s.State > 1024 || int64(s.VHeads)*int64(s.State)*int64(s.State) > 1<<28:
		// The state is time_step_rank × state_size² floats per layer and
		// sequence; hostile sizes must not allocate terabytes.
		return fmt.Errorf("model: ssm.state_size %d with time_step_rank %d makes a state too large", s.State, s.VHeads)
	case s.VHeads%s.KHeads != 0:
		return fmt.Errorf("model: ssm.time_step_rank %d is not a multiple of ssm.group_count %d", s.VHeads, s.KHeads)
	case s.Inner != s.VHeads*s.State:
		return fmt.Errorf("model: ssm.inner_size %d is not time_step_rank %d × state_size %d (value and key heads must be as wide)",
			s.Inner, s.VHeads, s.State)
	case c.NNextN >= c.NLayer:
		return fmt.Errorf("model: nextn_predict_layers %d leaves no trunk of block_count %d", c.NNextN, c.NLayer)
	case interval == 0:
		return fmt.Errorf("model: full_attention_interval must be positive")
	case c.HeadDimK != c.HeadDimV:
		return fmt.Errorf("model: gated attention needs key_length %d = value_length %d", c.HeadDimK, c.HeadDimV)
	}
	all := c.NLayer
	c.NLayer -= c.NNextN
	c.Recurrent = make([]bool, c.NLayer)
	if key := f.ArchKey("attention.recurrent_layers"); hasKey(f, key) {
		flags, ok := boolArray(f, key)
		if !ok || len(flags) != all {
			return fmt.Errorf("model: %s must be %d flags", key, all)
		}
		copy(c.Recurrent, flags)
	} else {
		for i := range c.Recurrent {
			c.Recurrent[i] = (i+1)%interval != 0
		}
	}
	if c.Family.MoE {
		c.NFFShared = get("expert_shared_feed_forward_length", int64(c.NFF), false)
		c.SharedGate = true
		c.NExpertShared = 1
		if c.NFFExpert == 0 {
			c.NFFExpert = c.NFF / c.NExpertUse
		}
	}
	return m.err
}

// boolArray reads the GGUF array of flags at key, stored as bools or
// integers.
func boolArray(f *gguf.File, key string) ([]bool, bool) {
	v, _ := f.Get(key)
	if a, ok := v.([]bool); ok {
		return a, true
	}
	ints := f.Int32s(key)
	if ints == nil {
		return nil, false
	}
	out := make([]bool, len(ints))
	for i, x := range ints {
		out[i] = x != 0
	}
	return out, true
}

// StateBytes returns the memory a sequence's fixed-size recurrent state
// holds over all layers (0 for a model without recurrent layers): per
// Gated DeltaNet layer, the last conv_kernel-1 rows of [q, k, v] and a
// head × head state per value head, float32 as llama.cpp keeps them. It
// does not grow with the context; CacheBytesPerToken is what does.
func (c *Config) StateBytes() int64 {
	var n int64
	for li := 0; li < c.NLayer; li++ {
		at, _ := c.layerKinds(li)
		if r, ok := at.(recurrentMixer); ok {
			n += r.stateBytes(c)
		}
	}
	return n
}

// LayerPattern returns one letter per layer for its mixer: "R" for a
// recurrent (Gated DeltaNet) layer, "A" for attention; for qwen35 with an
// interval of 4 it reads RRRA RRRA ...
func (c *Config) LayerPattern() string {
	b := make([]byte, c.NLayer)
	for li := range b {
		b[li] = 'A'
		if c.isRecurrent(li) {
			b[li] = 'R'
		}
	}
	return string(b)
}

func hasKey(f *gguf.File, key string) bool { _, ok := f.Get(key); return ok }

func (c *Config) isRecurrent(li int) bool { return li < len(c.Recurrent) && c.Recurrent[li] }
