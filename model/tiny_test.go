package model

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/qilin-ai/qilin/gguf"
	"github.com/qilin-ai/qilin/quant"
)

// tinySpec describes a tiny random model that a test writes with gguf.Writer.
type tinySpec struct {
	arch                     string
	embd, layers, heads, kvh int
	headDim                  int // 0: embd/heads, written without key_length
	ff, vocab                int
	experts, used, ffExp     int
	bias, qkNorm, tied, neox bool
	ropeFactors              bool
	wtype                    quant.Type // matrix type (norms stay F32)
	ropeBase                 float64

	// YaRN rope scaling: factor (0: none), original context, and DeepSeek's
	// mscale_all_dims (written as yarn_log_multiplier = 0.1 × it).
	yarn, yarnAllDims float64
	yarnOrig          int

	// deepseek2: MLA sizes (head_k = nope + rope), the leading dense
	// layers, the router's flavour and the older attn_kv_b layout.
	qLora, kvLora, nope, rope, vHead int
	leadDense                        int
	gating                           Gating
	groups, groupsUsed, shared       int
	normW, probsBias, kvb            bool
	wScale                           float64

	// qwen35: Gated DeltaNet sizes (conv taps, head size, value and key
	// heads), every interval-th layer gated attention with RoPE on its
	// first ropeDims dims, nextn MTP blocks written after the trunk, and
	// for qwen35moe the shared expert's width.
	convK, ssmState, vHeads, kHeads int
	interval, ropeDims, nextn       int
	ffShared                        int
}

var tinySpecs = []tinySpec{
	{arch: "llama", embd: 64, layers: 2, heads: 4, kvh: 2, ff: 96, vocab: 67, wtype: quant.F32, ropeBase: 10000},
	{arch: "llama", embd: 64, layers: 2, heads: 4, kvh: 4, ff: 96, vocab: 67, tied: true, ropeFactors: true, wtype: quant.F32, ropeBase: 500000},
	{arch: "qwen2", embd: 64, layers: 2, heads: 4, kvh: 1, ff: 96, vocab: 67, bias: true, tied: true, neox: true, wtype: quant.F32, ropeBase: 1e6},
	{arch: "qwen3", embd: 64, layers: 2, heads: 4, kvh: 2, headDim: 32, ff: 96, vocab: 67, qkNorm: true, neox: true, wtype: quant.F32, ropeBase: 1e6},
	{arch: "qwen3moe", embd: 64, layers: 2, heads: 4, kvh: 2, headDim: 32, vocab: 67, experts: 4, used: 2, ffExp: 32, qkNorm: true, neox: true, wtype: quant.F32, ropeBase: 1e6},
	{arch: "qwen2", embd: 64, layers: 2, heads: 4, kvh: 2, ff: 96, vocab: 67, bias: true, neox: true, wtype: quant.Q8_0, ropeBase: 1e6},
	// Qwen2.5 with YaRN (rope.scaling.type yarn): cos and sin scaled by
	// 0.1 ln(factor) + 1.
	{arch: "qwen2", embd: 64, layers: 2, heads: 4, kvh: 2, ff: 96, vocab: 67, bias: true, neox: true, wtype: quant.F32, ropeBase: 1e6,
		yarn: 4, yarnOrig: 8},
	// DeepSeek-V3 layout: q LoRA, sigmoid router with a selection bias,
	// 4 groups of 2 experts of which the best 2, weights normalized and
	// scaled, a shared expert; the first layer dense.
	{arch: "deepseek2", embd: 64, layers: 3, heads: 4, kvh: 1, ff: 96, vocab: 67, wtype: quant.F32, ropeBase: 10000,
		qLora: 32, kvLora: 32, nope: 32, rope: 16, vHead: 32, leadDense: 1,
		experts: 8, used: 2, ffExp: 32, gating: Sigmoid, groups: 4, groupsUsed: 2, shared: 1, normW: true, probsBias: true, wScale: 2.5},
	// DeepSeek-V2-Lite layout: attn_q without LoRA, softmax router, YaRN.
	{arch: "deepseek2", embd: 64, layers: 3, heads: 4, kvh: 1, ff: 96, vocab: 67, wtype: quant.F32, ropeBase: 10000,
		kvLora: 32, nope: 32, rope: 16, vHead: 32, leadDense: 1, yarn: 4, yarnOrig: 8, yarnAllDims: 0.707,
		experts: 8, used: 3, ffExp: 32, gating: Softmax, groups: 1, groupsUsed: 1, shared: 2, wScale: 1},
	// An older conversion that carries attn_kv_b, split at load.
	{arch: "deepseek2", embd: 64, layers: 2, heads: 4, kvh: 4, ff: 96, vocab: 67, wtype: quant.F32, ropeBase: 10000,
		qLora: 32, kvLora: 32, nope: 32, rope: 16, vHead: 32, leadDense: 1, kvb: true,
		experts: 4, used: 2, ffExp: 32, gating: Softmax, groups: 1, groupsUsed: 1, shared: 1},
	{arch: "deepseek2", embd: 64, layers: 3, heads: 4, kvh: 1, ff: 96, vocab: 67, wtype: quant.Q8_0, ropeBase: 10000,
		qLora: 32, kvLora: 32, nope: 32, rope: 16, vHead: 32, leadDense: 1,
		experts: 8, used: 2, ffExp: 32, gating: Sigmoid, groups: 4, groupsUsed: 2, shared: 1, normW: true, probsBias: true, wScale: 2.5},
	// Qwen3.5: layers 0-2 Gated DeltaNet (2 key heads, 4 value heads of
	// 16), layer 3 gated attention, then again; one MTP block after the
	// trunk that must not run.
	{arch: "qwen35", embd: 64, layers: 8, heads: 4, kvh: 2, headDim: 16, ff: 96, vocab: 67, neox: true, qkNorm: true, wtype: quant.F32, ropeBase: 10000,
		convK: 4, ssmState: 16, vHeads: 4, kHeads: 2, interval: 4, ropeDims: 8, nextn: 1},
	{arch: "qwen35moe", embd: 64, layers: 4, heads: 4, kvh: 1, headDim: 16, vocab: 67, neox: true, qkNorm: true, wtype: quant.F32, ropeBase: 10000,
		convK: 4, ssmState: 16, vHeads: 2, kHeads: 2, interval: 2, ropeDims: 16,
		experts: 4, used: 2, ffExp: 32, ffShared: 48, normW: true},
	{arch: "qwen35", embd: 64, layers: 4, heads: 2, kvh: 2, headDim: 32, ff: 96, vocab: 67, neox: true, qkNorm: true, wtype: quant.Q8_0, ropeBase: 10000,
		convK: 3, ssmState: 32, vHeads: 2, kHeads: 1, interval: 4, ropeDims: 8},
}

func (s tinySpec) name() string {
	n := fmt.Sprintf("%s-%s-kv%d-tied%v", s.arch, s.wtype, s.kvh, s.tied)
	switch {
	case s.kvb:
		n += "-kv_b"
	case s.arch == "deepseek2" && s.qLora == 0:
		n += "-noqlora"
	}
	if s.gating == Sigmoid {
		n += "-sigmoid"
	}
	if s.yarn > 0 {
		n += "-yarn"
	}
	return n
}

func (s tinySpec) hd() int {
	switch {
	case s.nope > 0:
		return s.nope + s.rope
	case s.headDim != 0:
		return s.headDim
	}
	return s.embd / s.heads
}

func (s tinySpec) hv() int {
	if s.vHead > 0 {
		return s.vHead
	}
	return s.hd()
}

// config is the configuration Load reads from the file writeTiny writes.
func (s tinySpec) config() *Config {
	c, err := NewConfig(s.arch)
	if err != nil {
		panic(err)
	}
	c.NVocab, c.NEmbd, c.NLayer, c.NHead, c.NHeadKV = s.vocab, s.embd, s.layers, s.heads, s.kvh
	c.HeadDimK, c.HeadDimV, c.NFF, c.Rope.Dims = s.hd(), s.hv(), s.ff, s.hd()
	c.NExpert, c.NExpertUse, c.NFFExpert = s.experts, s.used, s.ffExp
	c.Tied, c.QKVBias, c.RopeFactors = s.tied, s.bias, s.ropeFactors
	c.QKNorm = c.QKNorm || s.qkNorm
	c.QLoraRank, c.KVLoraRank, c.KVB, c.NLeadDense = s.qLora, s.kvLora, s.kvb, s.leadDense
	if s.rope > 0 {
		c.Rope.Dims = s.rope
	}
	c.NExpertShared, c.ProbsBias = s.shared, s.probsBias
	if c.Family.Hybrid {
		c.Rope.Dims = s.ropeDims
		c.SSM = SSM{ConvKernel: s.convK, Inner: s.vHeads * s.ssmState, State: s.ssmState, VHeads: s.vHeads, KHeads: s.kHeads}
		c.Recurrent = make([]bool, s.layers)
		for i := range c.Recurrent {
			c.Recurrent[i] = (i+1)%s.interval != 0
		}
		if c.Family.MoE {
			c.NFFShared, c.SharedGate, c.NExpertShared = s.ffShared, true, 1
		}
	}
	return c
}

// writeTiny writes s as a GGUF file with random weights and returns its bytes.
func writeTiny(t testing.TB, s tinySpec, seed uint64) []byte {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	w := gguf.NewWriter()
	a := s.arch
	kv := func(key string, v any) { w.SetKV(a+"."+key, v) }
	w.SetKV("general.architecture", a)
	kv("context_length", uint32(128))
	kv("embedding_length", uint32(s.embd))
	kv("block_count", uint32(s.layers+s.nextn))
	kv("attention.head_count", uint32(s.heads))
	kv("attention.head_count_kv", uint32(s.kvh))
	kv("attention.layer_norm_rms_epsilon", float32(1e-6))
	kv("rope.freq_base", float32(s.ropeBase))
	switch {
	case s.nope > 0 && !s.kvb: // MLA as converted since attn_k_b/attn_v_b
		kv("attention.key_length", uint32(s.kvLora+s.rope))
		kv("attention.value_length", uint32(s.kvLora))
		kv("attention.key_length_mla", uint32(s.hd()))
		kv("attention.value_length_mla", uint32(s.hv()))
	case s.headDim != 0 || s.nope > 0:
		kv("attention.key_length", uint32(s.hd()))
		kv("attention.value_length", uint32(s.hv()))
	}
	if s.rope > 0 {
		kv("rope.dimension_count", uint32(s.rope))
		kv("attention.kv_lora_rank", uint32(s.kvLora))
		kv("attention.q_lora_rank", uint32(s.qLora))
		kv("leading_dense_block_count", uint32(s.leadDense))
		kv("expert_shared_count", uint32(s.shared))
		kv("expert_gating_func", uint32(s.gating))
		kv("expert_group_count", uint32(s.groups))
		kv("expert_group_used_count", uint32(s.groupsUsed))
		kv("expert_weights_norm", s.normW)
		kv("expert_weights_scale", float32(s.wScale))
	}
	if s.convK > 0 {
		kv("rope.dimension_count", uint32(s.ropeDims))
		kv("rope.dimension_sections", []int32{int32(s.ropeDims / 4), int32(s.ropeDims / 4), int32(s.ropeDims/2 - 2*(s.ropeDims/4)), 0})
		kv("ssm.conv_kernel", uint32(s.convK))
		kv("ssm.state_size", uint32(s.ssmState))
		kv("ssm.group_count", uint32(s.kHeads))
		kv("ssm.time_step_rank", uint32(s.vHeads))
		kv("ssm.inner_size", uint32(s.vHeads*s.ssmState))
		kv("full_attention_interval", uint32(s.interval))
		if s.nextn > 0 {
			kv("nextn_predict_layers", uint32(s.nextn))
		}
		if s.ffShared > 0 {
			kv("expert_shared_feed_forward_length", uint32(s.ffShared))
		}
	}
	if s.yarn > 0 {
		kv("rope.scaling.type", "yarn")
		kv("rope.scaling.factor", float32(s.yarn))
		kv("rope.scaling.original_context_length", uint32(s.yarnOrig))
		if s.yarnAllDims > 0 {
			kv("rope.scaling.yarn_log_multiplier", float32(0.1*s.yarnAllDims))
		}
	}
	if s.experts > 0 {
		kv("expert_count", uint32(s.experts))
		kv("expert_used_count", uint32(s.used))
		kv("expert_feed_forward_length", uint32(s.ffExp))
	}
	if s.experts == 0 || s.leadDense > 0 {
		kv("feed_forward_length", uint32(s.ff))
	}
	for _, tn := range append(Tensors(s.config()), s.nextnTensors()...) {
		n := 1
		ud := make([]uint64, len(tn.Dims))
		for i, d := range tn.Dims {
			n *= d
			ud[i] = uint64(d)
		}
		v := make([]float32, n)
		typ := quant.F32
		switch tn.Role {
		case Weight: // scaled by the fan-in, so that activations stay O(1)
			typ = s.wtype
			scale := 1 / math.Sqrt(float64(tn.Dims[0]))
			if tn.Name == "token_embd.weight" || strings.HasSuffix(tn.Name, "ffn_gate_inp.weight") {
				scale = 1
			}
			for i := range v {
				v[i] = float32(rng.NormFloat64() * scale)
			}
		case Bias:
			for i := range v {
				v[i] = float32(rng.NormFloat64() * 0.3)
			}
		case Decay: // -exp(A_log), A in (0.1, 1.5): forgetting, yet remembering a few tokens
			for i := range v {
				v[i] = float32(-0.1 - 1.4*rng.Float64())
			}
		default: // norm weights and rope factors: around one
			for i := range v {
				v[i] = 1 + float32(rng.NormFloat64()*0.1)
			}
		}
		rb, err := typ.RowSize(int(ud[0]))
		if err != nil {
			typ = quant.F32 // rows a block format cannot hold stay F32
			rb, _ = typ.RowSize(int(ud[0]))
		}
		data := make([]byte, rb*n/int(ud[0]))
		if err := quant.Quantize(typ, v, data); err != nil {
			t.Fatal(err)
		}
		if err := w.AddTensor(tn.Name, typ, ud, data); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// nextnTensors lists, for a spec with MTP blocks, tensors of the blocks
// after the trunk that a loader must leave alone: an attention block with
// its eh_proj, as llama.cpp's converter writes it.
func (s tinySpec) nextnTensors() []Tensor {
	var ts []Tensor
	for li := s.layers; li < s.layers+s.nextn; li++ {
		p := fmt.Sprintf("blk.%d.", li)
		ts = append(ts,
			Tensor{Name: p + "attn_norm.weight", Dims: []int{s.embd}, Role: Norm},
			Tensor{Name: p + "attn_q.weight", Dims: []int{s.embd, 2 * s.heads * s.hd()}, Role: Weight},
			Tensor{Name: p + "nextn.eh_proj.weight", Dims: []int{2 * s.embd, s.embd}, Role: Weight},
			Tensor{Name: p + "nextn.enorm.weight", Dims: []int{s.embd}, Role: Norm})
	}
	return ts
}

func loadTiny(t testing.TB, s tinySpec) (*gguf.File, *Model) {
	t.Helper()
	f, err := gguf.Parse(writeTiny(t, s, 7))
	if err != nil {
		t.Fatal(err)
	}
	m, err := Load(f)
	if err != nil {
		t.Fatal(err)
	}
	return f, m
}
