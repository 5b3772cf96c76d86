package synth

import "github.com/qilin-ai/qilin/model"

// Qwen3.5 shapes, from the released config.json files (text_config):
// every 4th layer gated attention with 8 or 16 query heads of 256 and RoPE
// on 64 of them (partial_rotary_factor 0.25, rope_theta 1e7, mrope sections
// 11, 11, 10 that text positions see as plain NeoX rope), the other layers
// Gated DeltaNet with 16 key heads and 16 or 32 value heads of 128 and a
// conv of 4 taps; vocabulary 248320 (padded), context 262144.
func init() {
	qwen35Vocab := Vocab{Pre: "qwen35", Regular: 248044, Special: specials(248044, qwenSpecialTexts(true)),
		BOS: 248044, EOS: 248046, PAD: 248044, ChatTemplate: chatML}
	base := Shape{Arch: "qwen35", NVocab: 248320, HeadDim: 256, RopeDim: 64, Context: 262144, RopeBase: 1e7, NormEps: 1e-6,
		QKNorm: true, FullAttnInterval: 4, Vocab: qwen35Vocab}
	ssm := func(vHeads int) *SSMShape { return &SSMShape{ConvKernel: 4, HeadDim: 128, VHeads: vHeads, KHeads: 16} }

	s := base
	s.Name, s.Source = "qwen3.5-0.8b", "Qwen/Qwen3.5-0.8B"
	s.NEmbd, s.NLayer, s.NHead, s.NHeadKV, s.NFF, s.Tied, s.SSM = 1024, 24, 8, 2, 3584, true, ssm(16)
	register(s)
	s = base
	s.Name, s.Source = "qwen3.5-2b", "Qwen/Qwen3.5-2B"
	s.NEmbd, s.NLayer, s.NHead, s.NHeadKV, s.NFF, s.Tied, s.SSM = 2048, 24, 8, 2, 6144, true, ssm(16)
	register(s)
	s = base
	s.Name, s.Source = "qwen3.5-9b", "Qwen/Qwen3.5-9B"
	s.NEmbd, s.NLayer, s.NHead, s.NHeadKV, s.NFF, s.SSM = 4096, 32, 16, 4, 12288, ssm(32)
	register(s)
	s = base
	s.Name, s.Source, s.Arch = "qwen3.5-35b-a3b", "Qwen/Qwen3.5-35B-A3B", "qwen35moe"
	s.NEmbd, s.NLayer, s.NHead, s.NHeadKV, s.SSM = 2048, 40, 16, 2, ssm(32)
	s.NExpert, s.NExpUsed, s.NFFExpert, s.NFFShared = 256, 8, 512, 512
	register(s)

	// The shape of the shared syn-qwen35 test models.
	register(Shape{Name: "tiny-qwen35", Source: "(test shape, Qwen3.5 hybrid)", Arch: "qwen35",
		NVocab: 1024, NEmbd: 256, NLayer: 4, NHead: 4, NHeadKV: 2, HeadDim: 64, RopeDim: 16, NFF: 512,
		Context: 4096, RopeBase: 10000, NormEps: 1e-6, QKNorm: true, FullAttnInterval: 4,
		SSM: &SSMShape{ConvKernel: 4, HeadDim: 32, VHeads: 4, KHeads: 2},
		Vocab: Vocab{Pre: "qwen35", Regular: 1019, BOS: 1019, EOS: 1021, PAD: 1019, ChatTemplate: chatML,
			Special: specials(1019, []string{"<|endoftext|>", "<|im_start|>", "<|im_end|>"})}})
}

// hybridConfig sets the Gated DeltaNet part of c, as model.ReadConfig
// reads it from the written file.
func (s *Shape) hybridConfig(c *model.Config) {
	h := s.SSM
	c.SSM = model.SSM{ConvKernel: h.ConvKernel, Inner: h.VHeads * h.HeadDim, State: h.HeadDim, VHeads: h.VHeads, KHeads: h.KHeads}
	c.Recurrent = make([]bool, s.NLayer)
	for i := range c.Recurrent {
		c.Recurrent[i] = (i+1)%s.FullAttnInterval != 0
	}
	if s.NExpert > 0 {
		c.NFFShared, c.SharedGate, c.NExpertShared = s.NFFShared, true, 1
	}
}

// hybridMetadata adds the keys of llama.cpp's qwen35 conversion: the
// attention head sizes, rope on RopeDim dims in text sections, the ssm.*
// sizes and the layer pattern.
func (s *Shape) hybridMetadata(a func(string, any)) {
	h := s.SSM
	a("attention.key_length", uint32(s.HeadDim))
	a("attention.value_length", uint32(s.HeadDim))
	a("rope.dimension_count", uint32(s.RopeDim))
	half := s.RopeDim / 2 // the pairs in three sections as Qwen's mrope_section: 11, 11, 10 of 32
	third := (half + 2) / 3
	a("rope.dimension_sections", []int32{int32(third), int32(third), int32(half - 2*third), 0})
	a("ssm.conv_kernel", uint32(h.ConvKernel))
	a("ssm.state_size", uint32(h.HeadDim))
	a("ssm.group_count", uint32(h.KHeads))
	a("ssm.time_step_rank", uint32(h.VHeads))
	a("ssm.inner_size", uint32(h.VHeads*h.HeadDim))
	a("full_attention_interval", uint32(s.FullAttnInterval))
	if s.NFFShared > 0 {
		a("expert_shared_feed_forward_length", uint32(s.NFFShared))
	}
}
