package synth

import (
	"fmt"
	"math"
	"runtime"
	"sync"

	"github.com/qilin-ai/qilin/gguf"
	"github.com/qilin-ai/qilin/quant"
	"github.com/qilin-ai/qilin/quantize"
)

// Options configures Write. The zero value writes an F32 file with seed 0.
type Options struct {
	Type    quantize.FileType // recipe, with llama.cpp's type mix for _M and _S
	Seed    uint64            // the weights are a function of the seed
	Threads int               // goroutines making rows; 0 means all CPUs
}

// Write writes a random-weight model of shape s to path (under a temporary
// name renamed into place when complete).
func Write(path string, s Shape, opts Options) error {
	if opts.Threads <= 0 {
		opts.Threads = runtime.NumCPU()
	}
	if err := s.check(); err != nil {
		return err
	}
	voc, err := buildVocab(s.Vocab, s.NVocab)
	if err != nil {
		return err
	}
	specs := s.tensors()
	infos := make([]quantize.TensorInfo, len(specs))
	for i, t := range specs {
		infos[i] = quantize.TensorInfo{Name: t.name, Type: quant.F32, Dims: t.dims}
	}
	m := quantize.Model{Arch: s.Arch, NLayer: s.NLayer, NHead: s.NHead, NHeadKV: s.NHeadKV, NExpert: s.NExpert}
	types, err := quantize.PlanTensors(opts.Type, m, infos)
	if err != nil {
		return err
	}
	g := &generator{seed: opts.Seed, pools: map[poolKey]*pool{}}
	outs := make([]quantize.OutTensor, len(specs))
	for i, t := range specs {
		fill, err := g.filler(i, t, types[i], &s)
		if err != nil {
			return err
		}
		outs[i] = quantize.OutTensor{Name: t.name, Type: types[i], Dims: t.dims, Fill: fill}
	}
	return quantize.WriteGGUF(path, s.metadata(voc, opts.Type), outs, opts.Threads)
}

// check rejects shapes the writer cannot lay out.
func (s *Shape) check() error {
	switch {
	case s.Arch == "" || s.NEmbd <= 0 || s.NLayer <= 0 || s.NHead <= 0 || s.NHeadKV <= 0 || s.HeadDim <= 0 || s.NVocab <= 0:
		return fmt.Errorf("synth: shape %q: architecture, sizes and head counts must be set", s.Name)
	case s.NHead%s.NHeadKV != 0:
		return fmt.Errorf("synth: shape %q: %d heads are not a multiple of %d key/value heads", s.Name, s.NHead, s.NHeadKV)
	case s.NExpert > 0 && (s.NExpUsed <= 0 || s.NExpUsed > s.NExpert || s.NFFExpert <= 0):
		return fmt.Errorf("synth: shape %q: %d of %d experts of size %d", s.Name, s.NExpUsed, s.NExpert, s.NFFExpert)
	case (s.NExpert == 0 || s.LeadDense > 0) && s.NFF <= 0:
		return fmt.Errorf("synth: shape %q: feed-forward size must be set", s.Name)
	case s.RopeDim < 0 || s.RopeDim >= s.HeadDim && s.KVLoraRank > 0:
		return fmt.Errorf("synth: shape %q: %d rotated of %d head dimensions", s.Name, s.RopeDim, s.HeadDim)
	}
	if _, err := s.config(); err != nil {
		return err
	}
	return nil
}

// metadata returns the file's key-value pairs, as llama.cpp's converter and
// llama-quantize write them.
func (s *Shape) metadata(voc *vocabulary, ft quantize.FileType) []gguf.KV {
	kv := []gguf.KV{
		{Key: "general.architecture", Value: s.Arch},
		{Key: "general.type", Value: "model"},
		{Key: "general.name", Value: s.Name + " (synthetic)"},
	}
	a := func(key string, v any) { kv = append(kv, gguf.KV{Key: s.Arch + "." + key, Value: v}) }
	if s.Arch == "llama" || s.Arch == "deepseek2" {
		a("vocab_size", uint32(s.NVocab))
	}
	a("context_length", uint32(s.Context))
	a("embedding_length", uint32(s.NEmbd))
	a("block_count", uint32(s.NLayer))
	a("feed_forward_length", uint32(s.NFF))
	a("attention.head_count", uint32(s.NHead))
	a("attention.head_count_kv", uint32(s.NHeadKV))
	switch {
	case s.KVLoraRank > 0:
		s.deepseek2Metadata(a)
	case s.SSM != nil:
		s.hybridMetadata(a)
	default:
		a("attention.key_length", uint32(s.HeadDim))
		a("attention.value_length", uint32(s.HeadDim))
		a("rope.dimension_count", uint32(s.HeadDim))
	}
	a("rope.freq_base", float32(s.RopeBase))
	a("attention.layer_norm_rms_epsilon", s.NormEps)
	if y := s.YaRN; y != nil {
		a("rope.scaling.type", "yarn")
		a("rope.scaling.factor", float32(y.Factor))
		a("rope.scaling.original_context_length", uint32(y.OriginalContext))
		if y.MscaleAllDims != 0 {
			a("rope.scaling.yarn_log_multiplier", float32(0.1*y.MscaleAllDims))
		}
	}
	if s.NExpert > 0 {
		a("expert_count", uint32(s.NExpert))
		a("expert_used_count", uint32(s.NExpUsed))
		a("expert_feed_forward_length", uint32(s.NFFExpert))
	}
	v := s.Vocab
	t := func(key string, v any) { kv = append(kv, gguf.KV{Key: "tokenizer." + key, Value: v}) }
	t("ggml.model", "gpt2")
	t("ggml.pre", v.Pre)
	t("ggml.tokens", voc.tokens)
	t("ggml.token_type", voc.types)
	t("ggml.merges", voc.merges)
	if v.BOS >= 0 {
		t("ggml.bos_token_id", uint32(v.BOS))
	}
	t("ggml.eos_token_id", uint32(v.EOS))
	if v.PAD >= 0 {
		t("ggml.padding_token_id", uint32(v.PAD))
	}
	t("ggml.add_bos_token", v.AddBOS)
	if v.ChatTemplate != "" {
		t("chat_template", v.ChatTemplate)
	}
	return append(kv,
		gguf.KV{Key: "general.quantization_version", Value: uint32(quantize.QuantizationVersion)},
		gguf.KV{Key: "general.file_type", Value: uint32(ft)})
}

// deepseek2Metadata adds the keys of multi-head latent attention and
// DeepSeek-MoE, as llama.cpp's converter writes them for files with
// attn_k_b/attn_v_b: key_length and value_length are then the cache row
// (kv_lora_rank + rope dims, kv_lora_rank), the per-head sizes go in the
// _mla keys.
func (s *Shape) deepseek2Metadata(a func(string, any)) {
	rope, v := s.RopeDim, s.VHeadDim
	a("leading_dense_block_count", uint32(s.LeadDense))
	if s.QLoraRank > 0 {
		a("attention.q_lora_rank", uint32(s.QLoraRank))
	}
	a("attention.kv_lora_rank", uint32(s.KVLoraRank))
	a("attention.key_length", uint32(s.KVLoraRank+rope))
	a("attention.value_length", uint32(s.KVLoraRank))
	a("attention.key_length_mla", uint32(s.HeadDim))
	a("attention.value_length_mla", uint32(v))
	a("rope.dimension_count", uint32(rope))
	a("expert_shared_count", uint32(s.NExpShared))
	a("expert_weights_scale", float32(s.RouteScale))
	a("expert_weights_norm", s.NormTopK)
	gating := uint32(1) // softmax
	if s.Sigmoid {
		gating = 2
	}
	a("expert_gating_func", gating)
	a("expert_group_count", uint32(s.NGroup))
	a("expert_group_used_count", uint32(s.TopKGroup))
}

// generator makes tensor values. Quantized rows are random sequences of
// units drawn from pools of pre-encoded units, one pool per (type, scale).
type generator struct {
	seed  uint64
	mu    sync.Mutex
	pools map[poolKey]*pool
}

type poolKey struct {
	t    quant.Type
	std  float64
	unit int
}

// pool holds n units of unit elements each, encoded as type t.
type pool struct {
	data      []byte
	n         int
	unitBytes int
}

// poolElements is the number of random values encoded per pool.
const poolElements = 1 << 17

func (g *generator) pool(k poolKey) (*pool, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if p, ok := g.pools[k]; ok {
		return p, nil
	}
	ub, err := k.t.RowSize(k.unit)
	if err != nil {
		return nil, err
	}
	n := max(64, poolElements/k.unit)
	vals := make([]float32, n*k.unit)
	r := splitmix(g.seed ^ uint64(k.t)<<40 ^ math.Float64bits(k.std))
	a := k.std * math.Sqrt(3) // uniform on [-a, a] has standard deviation std
	for i := range vals {
		vals[i] = float32(a * (2*r.float() - 1))
	}
	p := &pool{data: make([]byte, n*ub), n: n, unitBytes: ub}
	if err := quant.Quantize(k.t, vals, p.data); err != nil {
		return nil, err
	}
	g.pools[k] = p
	return p, nil
}

// filler returns the Fill function of tensor i.
func (g *generator) filler(i int, t tensorSpec, typ quant.Type, s *Shape) (func(lo, hi int, dst []byte) error, error) {
	if t.kind != randomMatrix {
		vals := make([]float32, t.elements())
		switch t.kind {
		case ones:
			for j := range vals {
				vals[j] = 1
			}
		case randomVector:
			r := splitmix(g.seed ^ uint64(i)<<32 ^ 0xb1a5)
			a := t.std * math.Sqrt(3)
			for j := range vals {
				vals[j] = float32(a * (2*r.float() - 1))
			}
		case llama3Factors:
			copy(vals, s.Llama3Rope.ropeFactors(s.HeadDim, s.RopeBase))
		case decayRates:
			r := splitmix(g.seed ^ uint64(i)<<32 ^ 0xdeca)
			for j := range vals {
				vals[j] = float32(-1 - 15*r.float())
			}
		}
		return func(lo, hi int, dst []byte) error { return quant.Quantize(typ, vals, dst) }, nil
	}
	cols := int(t.dims[0])
	unit := max(32, typ.BlockLen())
	if cols%unit != 0 {
		unit = typ.BlockLen()
	}
	p, err := g.pool(poolKey{t: typ, std: t.std, unit: unit})
	if err != nil {
		return nil, fmt.Errorf("synth: tensor %s: %w", t.name, err)
	}
	units := cols / unit
	rowBytes := units * p.unitBytes
	return func(lo, hi int, dst []byte) error {
		for row := lo; row < hi; row++ {
			r := splitmix(g.seed ^ uint64(i)<<40 ^ uint64(row))
			out := dst[(row-lo)*rowBytes : (row-lo+1)*rowBytes]
			for u := 0; u < units; u++ {
				k := int(r.below(uint64(p.n)))
				copy(out[u*p.unitBytes:(u+1)*p.unitBytes], p.data[k*p.unitBytes:])
			}
		}
		return nil
	}, nil
}

// splitmix is the SplitMix64 generator: tiny state, good enough mixing to
// seed one generator per row.
type splitmix uint64

func (s *splitmix) next() uint64 {
	*s += 0x9e3779b97f4a7c15
	z := uint64(*s)
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// float returns a uniform value in [0, 1).
func (s *splitmix) float() float64 { return float64(s.next()>>11) / (1 << 53) }

// below returns a value in [0, n) (Lemire's multiply-shift; n < 2^32).
func (s *splitmix) below(n uint64) uint64 { return (s.next() >> 32) * n >> 32 }
