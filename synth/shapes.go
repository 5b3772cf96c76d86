package synth

import (
	"fmt"
	"sort"
	"strings"
)

// Shape describes a model's architecture and vocabulary. The values of the
// registered shapes are those of the released models' config.json and
// llama.cpp's conversion of them.
type Shape struct {
	Name   string // qilin's name for the shape, e.g. "qwen2.5-0.5b"
	Source string // the released model it copies, e.g. "Qwen/Qwen2.5-0.5B-Instruct"
	Arch   string // general.architecture

	NVocab    int // rows of token_embd (config vocab_size)
	NEmbd     int // hidden_size
	NLayer    int // num_hidden_layers
	NHead     int // num_attention_heads
	NHeadKV   int // num_key_value_heads
	HeadDim   int // head_dim
	NFF       int // intermediate_size
	NExpert   int // num_experts (0: dense)
	NExpUsed  int // num_experts_per_tok
	NFFExpert int // moe_intermediate_size
	Context   int // max_position_embeddings

	RopeBase float64 // rope_theta
	NormEps  float32 // rms_norm_eps
	Tied     bool    // tie_word_embeddings: no output.weight
	QKVBias  bool    // attn_q/k/v biases (Qwen2)
	QKNorm   bool    // per-head RMS norms of q and k (Qwen3)
	// Llama3Rope, when set, is Llama 3.1's long-context RoPE scaling, which
	// llama.cpp stores as per-frequency factors in rope_freqs.weight.
	Llama3Rope *Llama3Rope
	// YaRN, when set, is rope_scaling of type yarn.
	YaRN *YaRN

	// DeepSeek-V2/V3 (deepseek2): multi-head latent attention, where
	// HeadDim is qk_nope_head_dim + qk_rope_head_dim, and DeepSeek-MoE.
	QLoraRank  int     // q_lora_rank (0: attn_q projects directly)
	KVLoraRank int     // kv_lora_rank
	RopeDim    int     // qk_rope_head_dim (0: all of HeadDim)
	VHeadDim   int     // v_head_dim (0: HeadDim)
	LeadDense  int     // first_k_dense_replace: leading dense layers
	NExpShared int     // n_shared_experts
	Sigmoid    bool    // scoring_func sigmoid (else softmax)
	ScoreBias  bool    // e_score_correction_bias (exp_probs_b), topk_method noaux_tc
	NormTopK   bool    // norm_topk_prob
	RouteScale float64 // routed_scaling_factor
	NGroup     int     // n_group
	TopKGroup  int     // topk_group

	// Qwen3.5 (qwen35, qwen35moe; qwen35.go): Gated DeltaNet layers, all
	// but every FullAttnInterval-th, which is gated attention with RoPE on
	// its first RopeDim dims (partial_rotary_factor × head_dim).
	SSM              *SSMShape
	FullAttnInterval int // full_attention_interval
	NFFShared        int // shared_expert_intermediate_size (qwen35moe)

	Vocab Vocab
}

// SSMShape holds the Gated DeltaNet sizes of a Qwen3.5 shape.
type SSMShape struct {
	ConvKernel int // linear_conv_kernel_dim
	HeadDim    int // linear_key_head_dim = linear_value_head_dim
	VHeads     int // linear_num_value_heads
	KHeads     int // linear_num_key_heads
}

// YaRN holds the rope_scaling parameters of type yarn.
type YaRN struct {
	Factor          float64
	OriginalContext int
	MscaleAllDims   float64 // DeepSeek's mscale_all_dim (0: none)
}

// Llama3Rope holds the rope_scaling parameters of rope_type "llama3".
type Llama3Rope struct {
	Factor, LowFreqFactor, HighFreqFactor float64
	OriginalContext                       int
}

// Vocab describes a byte-level BPE vocabulary.
type Vocab struct {
	Pre     string         // tokenizer.ggml.pre
	Regular int            // ordinary tokens: 256 bytes and Regular-256 merges
	Special []SpecialToken // at ids >= Regular; other ids up to NVocab are padding
	BOS     int            // -1: none
	EOS     int
	PAD     int // -1: none
	AddBOS  bool
	// ChatTemplate is a minimal template in the model's chat format.
	ChatTemplate string
}

// SpecialToken is an added token at a fixed id.
type SpecialToken struct {
	ID      int
	Text    string
	Control bool // control token (type 3) rather than user-defined (type 4)
}

// Params returns the number of weights, as llama.cpp counts them (a tied
// output is not counted twice).
func (s *Shape) Params() int64 {
	var n int64
	for _, t := range s.tensors() {
		n += t.elements()
	}
	return n
}

// Shapes returns the registered shapes, sorted by name.
func Shapes() []Shape {
	out := make([]Shape, 0, len(registry))
	for _, s := range registry {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Names returns the registered shape names, sorted.
func Names() []string {
	var names []string
	for _, s := range Shapes() {
		names = append(names, s.Name)
	}
	return names
}

// Lookup returns the shape called name (case-insensitive); an unknown name
// is an error that lists the known ones.
func Lookup(name string) (Shape, error) {
	if s, ok := registry[strings.ToLower(name)]; ok {
		return s, nil
	}
	return Shape{}, fmt.Errorf("synth: unknown model shape %q (known: %s)", name, strings.Join(Names(), ", "))
}

var registry = map[string]Shape{}

func register(s Shape) { registry[s.Name] = s }

// Chat templates in each family's format, written for these files (the
// released templates also handle tools and system prompts).
const (
	chatML = `{%- for message in messages %}{{- '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}{%- endfor %}` +
		`{%- if add_generation_prompt %}{{- '<|im_start|>assistant\n' }}{%- endif %}`
	llama3Chat = `{{- bos_token }}{%- for message in messages %}{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n' + message['content'] + '<|eot_id|>' }}{%- endfor %}` +
		`{%- if add_generation_prompt %}{{- '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{%- endif %}`
	deepseekV2Chat = `{{- bos_token }}{%- for message in messages %}{%- if message['role'] == 'user' %}{{- 'User: ' + message['content'] + '\n\n' }}` +
		`{%- elif message['role'] == 'assistant' %}{{- 'Assistant: ' + message['content'] + eos_token }}` +
		`{%- else %}{{- message['content'] + '\n\n' }}{%- endif %}{%- endfor %}{%- if add_generation_prompt %}{{- 'Assistant:' }}{%- endif %}`
	deepseekR1Chat = `{{- bos_token }}{%- for message in messages %}{%- if message['role'] == 'user' %}{{- '<｜User｜>' + message['content'] }}` +
		`{%- elif message['role'] == 'assistant' %}{{- '<｜Assistant｜>' + message['content'] + '<｜end▁of▁sentence｜>' }}` +
		`{%- else %}{{- message['content'] }}{%- endif %}{%- endfor %}{%- if add_generation_prompt %}{{- '<｜Assistant｜><think>\n' }}{%- endif %}`
)

// qwenSpecial lists the added tokens of Qwen2.5 (ids 151643-151664); Qwen3
// adds four more.
func qwenSpecial(qwen3 bool) []SpecialToken { return specials(151643, qwenSpecialTexts(qwen3)) }

// qwenSpecialTexts lists the added tokens of Qwen2.5, and Qwen3's four more.
func qwenSpecialTexts(qwen3 bool) []string {
	texts := []string{
		"<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>",
		"<|box_start|>", "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>",
		"<|vision_end|>", "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>", "<tool_call>",
		"</tool_call>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>", "<|fim_pad|>",
		"<|repo_name|>", "<|file_sep|>",
	}
	if qwen3 {
		texts = append(texts, "<tool_response>", "</tool_response>", "<think>", "</think>")
	}
	return texts
}

// deepseekR1QwenSpecial lists the added tokens of DeepSeek-R1-Distill-Qwen.
func deepseekR1QwenSpecial() []SpecialToken {
	return specials(151643, []string{
		"<｜end▁of▁sentence｜>", "<｜User｜>", "<｜Assistant｜>", "<｜begin▁of▁sentence｜>", "<|EOT|>",
		"<think>", "</think>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>", "<|vision_end|>",
		"<|vision_pad|>", "<|image_pad|>", "<|video_pad|>", "<tool_call>", "</tool_call>",
		"<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>", "<|fim_pad|>", "<|repo_name|>", "<|file_sep|>",
	})
}

// llama3Special lists Llama 3.1/3.2's 256 added tokens (ids 128000-128255).
func llama3Special() []SpecialToken {
	texts := []string{
		"<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>", "<|reserved_special_token_1|>",
		"<|finetune_right_pad_id|>", "<|reserved_special_token_2|>", "<|start_header_id|>", "<|end_header_id|>",
		"<|eom_id|>", "<|eot_id|>", "<|python_tag|>",
	}
	for i := 3; len(texts) < 256; i++ {
		texts = append(texts, fmt.Sprintf("<|reserved_special_token_%d|>", i))
	}
	return specials(128000, texts)
}

// specials numbers texts from first. As llama.cpp's converter decides, a
// token that looks like <|...|> or <｜...｜> is a control token; the others
// (<think>, <tool_call>) are user-defined.
func specials(first int, texts []string) []SpecialToken {
	out := make([]SpecialToken, len(texts))
	for i, t := range texts {
		ctl := (strings.HasPrefix(t, "<|") && strings.HasSuffix(t, "|>")) ||
			(strings.HasPrefix(t, "<｜") && strings.HasSuffix(t, "｜>"))
		out[i] = SpecialToken{ID: first + i, Text: t, Control: ctl}
	}
	return out
}

func init() {
	qwen25 := Vocab{Pre: "qwen2", Regular: 151643, Special: qwenSpecial(false),
		BOS: 151643, EOS: 151645, PAD: 151643, ChatTemplate: chatML}
	qwen3 := qwen25
	qwen3.Special = qwenSpecial(true)
	r1 := Vocab{Pre: "deepseek-r1-qwen", Regular: 151643, Special: deepseekR1QwenSpecial(),
		BOS: 151646, EOS: 151643, PAD: 151643, AddBOS: true, ChatTemplate: deepseekR1Chat}
	llama3 := Vocab{Pre: "llama-bpe", Regular: 128000, Special: llama3Special(),
		BOS: 128000, EOS: 128009, PAD: 128004, AddBOS: true, ChatTemplate: llama3Chat}

	qwen2 := Shape{Arch: "qwen2", NVocab: 151936, Context: 32768, RopeBase: 1e6, NormEps: 1e-6,
		QKVBias: true, Vocab: qwen25}
	s := qwen2
	s.Name, s.Source = "qwen2.5-0.5b", "Qwen/Qwen2.5-0.5B-Instruct"
	s.NEmbd, s.NLayer, s.NHead, s.NHeadKV, s.HeadDim, s.NFF, s.Tied = 896, 24, 14, 2, 64, 4864, true
	register(s)
	s = qwen2
	s.Name, s.Source = "qwen2.5-1.5b", "Qwen/Qwen2.5-1.5B-Instruct"
	s.NEmbd, s.NLayer, s.NHead, s.NHeadKV, s.HeadDim, s.NFF, s.Tied = 1536, 28, 12, 2, 128, 8960, true
	register(s)
	s = qwen2
	s.Name, s.Source = "qwen2.5-7b", "Qwen/Qwen2.5-7B-Instruct"
	s.NVocab, s.NEmbd, s.NLayer, s.NHead, s.NHeadKV, s.HeadDim, s.NFF = 152064, 3584, 28, 28, 4, 128, 18944
	register(s)
	s = qwen2
	s.Name, s.Source = "deepseek-r1-distill-qwen-1.5b", "deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B"
	s.NEmbd, s.NLayer, s.NHead, s.NHeadKV, s.HeadDim, s.NFF = 1536, 28, 12, 2, 128, 8960
	s.Context, s.RopeBase, s.Vocab = 131072, 10000, r1
	register(s)

	register(Shape{Name: "qwen3-0.6b", Source: "Qwen/Qwen3-0.6B", Arch: "qwen3",
		NVocab: 151936, NEmbd: 1024, NLayer: 28, NHead: 16, NHeadKV: 8, HeadDim: 128, NFF: 3072,
		Context: 40960, RopeBase: 1e6, NormEps: 1e-6, Tied: true, QKNorm: true, Vocab: qwen3})
	register(Shape{Name: "qwen3-30b-a3b", Source: "Qwen/Qwen3-30B-A3B", Arch: "qwen3moe",
		NVocab: 151936, NEmbd: 2048, NLayer: 48, NHead: 32, NHeadKV: 4, HeadDim: 128, NFF: 6144,
		NExpert: 128, NExpUsed: 8, NFFExpert: 768,
		Context: 40960, RopeBase: 1e6, NormEps: 1e-6, QKNorm: true, Vocab: qwen3})
	register(Shape{Name: "llama-3.2-1b", Source: "meta-llama/Llama-3.2-1B-Instruct", Arch: "llama",
		NVocab: 128256, NEmbd: 2048, NLayer: 16, NHead: 32, NHeadKV: 8, HeadDim: 64, NFF: 8192,
		Context: 131072, RopeBase: 500000, NormEps: 1e-5, Tied: true,
		Llama3Rope: &Llama3Rope{Factor: 32, LowFreqFactor: 1, HighFreqFactor: 4, OriginalContext: 8192},
		Vocab:      llama3})

	// DeepSeek-V2-Lite: MLA without q LoRA (kv_lora_rank 512, 128 + 64
	// per head, 16 heads), 64 experts of which 6 by softmax, 2 shared, the
	// first layer dense, YaRN to 160k. The converter writes
	// head_count_kv 1: MLA is attention over one shared latent.
	register(Shape{Name: "deepseek-v2-lite", Source: "deepseek-ai/DeepSeek-V2-Lite-Chat", Arch: "deepseek2",
		NVocab: 102400, NEmbd: 2048, NLayer: 27, NHead: 16, NHeadKV: 1, HeadDim: 192, NFF: 10944,
		NExpert: 64, NExpUsed: 6, NFFExpert: 1408,
		KVLoraRank: 512, RopeDim: 64, VHeadDim: 128, LeadDense: 1, NExpShared: 2, RouteScale: 1, NGroup: 1, TopKGroup: 1,
		Context: 163840, RopeBase: 10000, NormEps: 1e-6,
		YaRN: &YaRN{Factor: 40, OriginalContext: 4096, MscaleAllDims: 0.707},
		Vocab: Vocab{Pre: "deepseek-llm", Regular: 100000, BOS: 100000, EOS: 100001, PAD: 100001, AddBOS: true, ChatTemplate: deepseekV2Chat,
			Special: specials(100000, []string{"<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"})}})

	// Tiny shapes for tests and smoke runs, not released models: the shapes
	// of the shared test models syn-qwen2odd (320 wide, so K-quants fall
	// back as for Qwen2.5-0.5B), syn-qwen3moe and syn-deepseek2 (the
	// DeepSeek-V3/R1 layout: q LoRA, sigmoid router with a selection bias,
	// expert groups, a shared expert, the R1 template).
	tinyVocab := Vocab{Pre: "qwen2", Regular: 1019, BOS: 1019, EOS: 1021, PAD: 1019, ChatTemplate: chatML,
		Special: specials(1019, []string{"<|endoftext|>", "<|im_start|>", "<|im_end|>"})}
	register(Shape{Name: "tiny-qwen2", Source: "(test shape, Qwen2 family)", Arch: "qwen2",
		NVocab: 1024, NEmbd: 320, NLayer: 2, NHead: 5, NHeadKV: 1, HeadDim: 64, NFF: 896,
		Context: 512, RopeBase: 1e6, NormEps: 1e-6, Tied: true, QKVBias: true, Vocab: tinyVocab})
	register(Shape{Name: "tiny-qwen3moe", Source: "(test shape, Qwen3-MoE family)", Arch: "qwen3moe",
		NVocab: 1024, NEmbd: 256, NLayer: 2, NHead: 4, NHeadKV: 2, HeadDim: 64, NFF: 512,
		NExpert: 8, NExpUsed: 2, NFFExpert: 256,
		Context: 512, RopeBase: 1e6, NormEps: 1e-6, QKNorm: true, Vocab: tinyVocab})
	register(Shape{Name: "tiny-deepseek2", Source: "(test shape, DeepSeek-V3/R1 layout)", Arch: "deepseek2",
		NVocab: 1024, NEmbd: 256, NLayer: 3, NHead: 4, NHeadKV: 1, HeadDim: 48, NFF: 512,
		NExpert: 8, NExpUsed: 2, NFFExpert: 128,
		QLoraRank: 128, KVLoraRank: 64, RopeDim: 16, VHeadDim: 32, LeadDense: 1, NExpShared: 1,
		Sigmoid: true, ScoreBias: true, NormTopK: true, RouteScale: 2.5, NGroup: 4, TopKGroup: 2,
		Context: 512, RopeBase: 10000, NormEps: 1e-6,
		Vocab: Vocab{Pre: "deepseek-v3", Regular: 1018, BOS: 1018, EOS: 1019, PAD: -1, AddBOS: true, ChatTemplate: deepseekR1Chat,
			Special: specials(1018, []string{"<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", "<｜User｜>", "<｜Assistant｜>", "<think>", "</think>"})}})
}
