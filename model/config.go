package model

import (
	"fmt"
	"math"

	"github.com/qilin-ai/qilin/gguf"
	"github.com/qilin-ai/qilin/kernels"
)

// Config holds a model's hyperparameters, read from GGUF metadata with the
// defaults llama.cpp uses, and which optional tensors the file carries.
// Tensors(c) lists the tensors a model of this configuration binds.
type Config struct {
	Arch       string // general.architecture
	Family     Arch   // what the architecture declares
	NVocab     int    // rows of token_embd
	NEmbd      int    // embedding_length
	NLayer     int    // block_count
	NHead      int    // attention.head_count
	NHeadKV    int    // attention.head_count_kv (default NHead)
	HeadDimK   int    // attention.key_length (default NEmbd/NHead)
	HeadDimV   int    // attention.value_length (default NEmbd/NHead)
	NFF        int    // feed_forward_length
	NCtxTrain  int    // context_length
	NormEps    float32
	NExpert    int // expert_count (MoE)
	NExpertUse int // expert_used_count (MoE)
	NFFExpert  int // expert_feed_forward_length (MoE)
	NLeadDense int // leading_dense_block_count: the first layers of an MoE model are dense
	Rope       kernels.Rope

	// Optional tensors, as the file has them (Load sets these from the
	// first layer's tensors; a writer sets them to say what to write).
	Tied        bool // no output.weight: the output projection is token_embd
	QKVBias     bool // attn_q.bias, attn_k.bias, attn_v.bias
	AttnOutBias bool // attn_output.bias
	QKNorm      bool // attn_q_norm, attn_k_norm (required when Family.QKNorm)
	RopeFactors bool // rope_freqs (Llama 3.1 long-context scaling)

	// YaRNLogMul is rope.scaling.yarn_log_multiplier / 0.1 (DeepSeek's
	// mscale_all_dims), which MLA folds into its score scale.
	YaRNLogMul float32

	// The router of a mixture-of-experts FFN (moe.go).
	Gating        Gating  // expert_gating_func
	NormWeights   bool    // expert_weights_norm: the chosen experts' weights sum to one
	WeightsScale  float32 // expert_weights_scale; 0: unscaled
	NExpertGroups int     // expert_group_count; experts are chosen from the best expert_group_used_count groups
	NGroupsUsed   int     // expert_group_used_count
	NExpertShared int     // expert_shared_count: ffn_*_shexp of n_ff_exp × this, added for every token
	ProbsBias     bool    // exp_probs_b: a bias that chooses experts but does not weight them

	// Multi-head latent attention (attn_mla.go): HeadDimK is then the
	// query/key head size (nope + rope), HeadDimV the value head size.
	QLoraRank  int  // attention.q_lora_rank; 0: attn_q projects directly (DeepSeek-V2-Lite)
	KVLoraRank int  // attention.kv_lora_rank: the compressed latent that the cache keeps
	KVB        bool // the file carries attn_kv_b (older conversions), split at load

	// Hybrid models (qwen35.go): the Gated DeltaNet sizes, which trunk
	// layers are recurrent, and the multi-token-prediction blocks after
	// the trunk (block_count = NLayer + NNextN), which are not run.
	SSM        SSM
	Recurrent  []bool // per trunk layer: Gated DeltaNet rather than gated attention
	NNextN     int    // nextn_predict_layers
	NFFShared  int    // expert_shared_feed_forward_length; 0: n_ff_exp × expert_shared_count
	SharedGate bool   // ffn_gate_inp_shexp: the shared expert's output is scaled by sigmoid(w · h)
}

// maxDim bounds every dimension read from metadata so that hostile files
// cannot make Load allocate absurd buffers.
const maxDim = 1 << 20

// NewConfig returns the configuration of architecture arch with its
// family's data set and no sizes, for a writer of models to fill in.
func NewConfig(arch string) (*Config, error) {
	a, err := lookupArch(arch)
	if err != nil {
		return nil, err
	}
	return &Config{Arch: a.Name, Family: a, QKNorm: a.QKNorm, Rope: kernels.Rope{FreqScale: 1, NeoX: a.RopeNeoX}}, nil
}

// ReadConfig reads the hyperparameters of f's architecture from its
// metadata (and the optional-tensor flags from its tensors) without binding
// any weight. NVocab is the row count of token_embd.
func ReadConfig(f *gguf.File) (Config, error) {
	a, err := lookupArch(f.Arch())
	if err != nil {
		return Config{}, err
	}
	c, err := readConfig(f, a)
	if err != nil {
		return c, err
	}
	has := func(name string) bool { _, ok := f.Tensor(name); return ok }
	if t, ok := f.Tensor("token_embd.weight"); ok && len(t.Dims) == 2 && t.Dims[1] <= maxDim*8 {
		c.NVocab = int(t.Dims[1])
	} else {
		return c, fmt.Errorf("model: tensor token_embd.weight is missing or not 2-D")
	}
	c.Tied = !has("output.weight")
	c.QKVBias = has("blk.0.attn_q.bias")
	c.AttnOutBias = has("blk.0.attn_output.bias")
	c.QKNorm = a.QKNorm || has("blk.0.attn_q_norm.weight")
	c.RopeFactors = has("rope_freqs.weight")
	return c, nil
}

// metaReader reads integer metadata of one architecture, keeping the first
// error so that readConfig reads top-down.
type metaReader struct {
	f   *gguf.File
	err error
}

// get returns the key arch.suffix, def when absent (an error when required).
func (m *metaReader) get(suffix string, def int64, required bool) int {
	if m.err != nil {
		return 0
	}
	key := m.f.ArchKey(suffix)
	if _, ok := m.f.Get(key); !ok && required {
		m.err = fmt.Errorf("model: missing metadata key %s", key)
		return 0
	}
	v := m.f.Int(key, def)
	if v < 0 || v > maxDim {
		m.err = fmt.Errorf("model: metadata %s = %d is out of range", key, v)
		return 0
	}
	return int(v)
}

func readConfig(f *gguf.File, a Arch) (Config, error) {
	c := Config{Arch: a.Name, Family: a}
	m := &metaReader{f: f}
	get := m.get
	c.NEmbd = get("embedding_length", 0, true)
	c.NLayer = get("block_count", 0, true)
	c.NHead = get("attention.head_count", 0, true)
	if a.MoE {
		c.NLeadDense = get("leading_dense_block_count", 0, false)
	}
	c.NFF = get("feed_forward_length", 0, !a.MoE || c.NLeadDense > 0)
	c.NCtxTrain = get("context_length", 2048, false)
	c.NHeadKV = get("attention.head_count_kv", int64(c.NHead), false)
	if m.err != nil {
		return c, m.err
	}
	if c.NHead == 0 || c.NEmbd == 0 || c.NLayer == 0 {
		return c, fmt.Errorf("model: embedding_length, block_count and attention.head_count must be positive")
	}
	if c.NHeadKV == 0 || c.NHead%c.NHeadKV != 0 {
		return c, fmt.Errorf("model: attention.head_count %d is not a multiple of head_count_kv %d", c.NHead, c.NHeadKV)
	}
	if c.NLeadDense > c.NLayer {
		return c, fmt.Errorf("model: leading_dense_block_count %d exceeds block_count %d", c.NLeadDense, c.NLayer)
	}
	c.HeadDimK = get("attention.key_length", int64(c.NEmbd/c.NHead), false)
	c.HeadDimV = get("attention.value_length", int64(c.NEmbd/c.NHead), false)
	if a.MoE {
		c.NExpert = get("expert_count", 0, true)
		c.NExpertUse = get("expert_used_count", 0, true)
		c.NFFExpert = get("expert_feed_forward_length", int64(c.NFF), false)
	}
	ropeDims := get("rope.dimension_count", int64(c.HeadDimK), false)
	if m.err != nil {
		return c, m.err
	}
	if c.HeadDimK == 0 || c.HeadDimV == 0 {
		return c, fmt.Errorf("model: attention key/value length must be positive")
	}
	if a.MoE && (c.NExpert == 0 || c.NExpertUse == 0 || c.NExpertUse > c.NExpert) {
		return c, fmt.Errorf("model: expert_used_count %d of expert_count %d is invalid", c.NExpertUse, c.NExpert)
	}
	if ropeDims%2 != 0 || ropeDims > c.HeadDimK {
		return c, fmt.Errorf("model: rope.dimension_count %d must be even and at most the head size %d", ropeDims, c.HeadDimK)
	}

	epsKey := f.ArchKey("attention.layer_norm_rms_epsilon")
	if _, ok := f.Get(epsKey); !ok {
		return c, fmt.Errorf("model: missing metadata key %s", epsKey)
	}
	c.NormEps = float32(f.Float(epsKey, 0))

	c.Rope = kernels.Rope{
		Dims:      ropeDims,
		Base:      f.Float(f.ArchKey("rope.freq_base"), 10000),
		FreqScale: 1,
		NeoX:      a.RopeNeoX,
	}
	if err := c.readRopeScaling(f); err != nil {
		return c, err
	}
	if math.IsNaN(c.Rope.Base) || c.Rope.Base <= 0 || math.IsNaN(float64(c.NormEps)) {
		return c, fmt.Errorf("model: invalid rope.freq_base %v or rms epsilon %v", c.Rope.Base, c.NormEps)
	}
	if a.MoE {
		if err := c.readRouter(f, m); err != nil {
			return c, err
		}
	}
	if a.MLA {
		if err := c.readMLA(f, m); err != nil {
			return c, err
		}
	}
	if a.Hybrid {
		if err := c.readHybrid(f, m); err != nil {
			return c, err
		}
	}
	return c, nil
}

// readRopeScaling reads linear or YaRN scaling (rope.scaling.*, or the
// older rope.scale_linear) into c.Rope, with the magnitude factor llama.cpp
// passes to its RoPE (llama_context's yarn_attn_factor).
func (c *Config) readRopeScaling(f *gguf.File) error {
	key := func(s string) string { return f.ArchKey("rope.scaling." + s) }
	factor := float32(f.Float(f.ArchKey("rope.scale_linear"), 0))
	typ := f.String(key("type"), "")
	switch typ {
	case "", "none":
	case "linear", "yarn":
		factor = float32(f.Float(key("factor"), 0))
	default:
		if f.Float(key("factor"), 0) > 1 {
			return fmt.Errorf("model: rope scaling type %q is not supported", typ)
		}
	}
	if math.IsNaN(float64(factor)) || factor < 0 || factor > 1e6 {
		return fmt.Errorf("model: rope scaling factor %v is out of range", factor)
	}
	if factor > 0 {
		c.Rope.FreqScale = float64(1 / factor)
	}
	c.YaRNLogMul = float32(f.Float(key("yarn_log_multiplier"), 0)) / 0.1 // the converter stores 0.1 × mscale_all_dims
	attn := float32(1)
	if typ == "yarn" {
		fs := float32(c.Rope.FreqScale)
		scale := 1 / fs
		mscale := func(m float32) float32 {
			if scale <= 1 {
				return 1
			}
			return float32(float32(0.1*m)*logf(scale)) + 1
		}
		if all := c.YaRNLogMul; all != 0 {
			m := float32(1)
			if c.Family.MLA && all != 1 { // llama.cpp's DeepSeek-V2 special case
				m = all
			}
			attn = mscale(m) / mscale(all)
		} else {
			attn = mscale(1)
		}
		// Cancels the factor ggml's rope_yarn multiplies in.
		attn *= 1 / (1 + float32(0.1*logf(scale)))
		orig := f.Int(key("original_context_length"), int64(c.NCtxTrain))
		if orig <= 0 || orig > maxDim*8 {
			return fmt.Errorf("model: rope.scaling.original_context_length %d is out of range", orig)
		}
		c.Rope.ExtFactor = 1
		c.Rope.CorrDims = kernels.YaRNCorrDims(c.Rope.Dims, int(orig), c.Rope.Base,
			float32(f.Float(key("yarn_beta_fast"), 32)), float32(f.Float(key("yarn_beta_slow"), 1)))
	}
	c.Rope.AttnFactor = attn * float32(f.Float(key("attn_factor"), 1))
	return nil
}

// logf is the float32 natural logarithm, as llama.cpp takes it.
func logf(x float32) float32 { return float32(math.Log(float64(x))) }
