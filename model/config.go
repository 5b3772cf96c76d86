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
	// Linear scaling: rope.scaling.type = "linear" with rope.scaling.factor,
	// or the older rope.scale_linear key.
	factor := f.Float(f.ArchKey("rope.scale_linear"), 0)
	switch typ := f.String(f.ArchKey("rope.scaling.type"), ""); typ {
	case "", "none":
	case "linear":
		factor = f.Float(f.ArchKey("rope.scaling.factor"), 0)
	default:
		if f.Float(f.ArchKey("rope.scaling.factor"), 0) > 1 {
			return c, fmt.Errorf("model: rope scaling type %q is not supported", typ)
		}
	}
	if factor > 0 {
		c.Rope.FreqScale = 1 / factor
	}
	if math.IsNaN(c.Rope.Base) || c.Rope.Base <= 0 || math.IsNaN(float64(c.NormEps)) {
		return c, fmt.Errorf("model: invalid rope.freq_base %v or rms epsilon %v", c.Rope.Base, c.NormEps)
	}
	return c, nil
}
