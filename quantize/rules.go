package quantize

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/qilin-ai/qilin/gguf"
	"github.com/qilin-ai/qilin/quant"
)

// Model holds the hyperparameters the mixing rules look at.
type Model struct {
	Arch    string // general.architecture
	NLayer  int    // block_count
	NHead   int    // attention.head_count (of the first layer)
	NHeadKV int    // attention.head_count_kv (of the first layer)
	NExpert int    // expert_count; 0 for a dense model
}

// ModelFromGGUF reads the hyperparameters of f's architecture.
func ModelFromGGUF(f *gguf.File) Model {
	first := func(suffix string, def int64) int {
		key := f.ArchKey(suffix)
		if v := f.Int32s(key); len(v) > 0 { // per-layer arrays
			return int(v[0])
		}
		return int(f.Int(key, def))
	}
	m := Model{Arch: f.Arch(), NLayer: int(f.Int(f.ArchKey("block_count"), 0))}
	m.NHead = first("attention.head_count", 0)
	m.NHeadKV = first("attention.head_count_kv", int64(m.NHead))
	m.NExpert = int(f.Int(f.ArchKey("expert_count"), 0))
	return m
}

// gqa is the number of query heads sharing a key/value head (llama.cpp's
// n_gqa()); 0 when unknown.
func (m Model) gqa() int {
	if m.NHeadKV <= 0 {
		return 0
	}
	return m.NHead / m.NHeadKV
}

// is70B reports whether llama.cpp classifies the model as Llama 70B, whose
// attn_v gets more bits.
func (m Model) is70B() bool {
	return m.Arch == "llama" && m.NLayer == 80 && m.NHead != m.NHeadKV
}

// TensorInfo is a tensor's name, current type and ggml dimensions.
type TensorInfo struct {
	Name string
	Type quant.Type
	Dims []uint64
}

// category is a tensor's role for the mixing rules.
type category int

const (
	catOther category = iota
	catTokenEmbd
	catOutput
	catAttnQ
	catAttnK
	catAttnV
	catAttnQKV
	catAttnKVB
	catAttnOutput
	catFFNUp
	catFFNGate
	catFFNDown
)

// categoryOf classifies a tensor name in llama.cpp's order of checks.
func categoryOf(name string) category {
	switch {
	case name == "output.weight":
		return catOutput
	case name == "token_embd.weight" || name == "per_layer_token_embd.weight":
		return catTokenEmbd
	}
	for _, c := range []struct {
		sub string
		cat category
	}{
		{"attn_qkv.weight", catAttnQKV}, {"attn_kv_b.weight", catAttnKVB},
		{"attn_v.weight", catAttnV}, {"attn_k.weight", catAttnK}, {"attn_q.weight", catAttnQ},
		{"attn_output.weight", catAttnOutput},
		{"ffn_up", catFFNUp}, {"ffn_gate", catFFNGate}, {"ffn_down", catFFNDown},
	} {
		if strings.Contains(name, c.sub) {
			return c.cat
		}
	}
	return catOther
}

// attnVLike reports the value-projection roles, which are the most sensitive
// to quantization.
func (c category) attnVLike() bool { return c == catAttnV || c == catAttnQKV || c == catAttnKVB }

// keepNames are substrings of weight names llama.cpp never quantizes: small
// or index-like tensors of various architectures.
var keepNames = []string{
	"_norm.weight", "ffn_gate_inp.weight", "ffn_gate_tid2eid.weight", "altup", "laurel",
	"per_layer_model_proj", "ssm_conv1d", "shortconv.conv.weight",
	"indexer.k_proj.weight", "indexer.q_proj.weight",
	"time_mix_first.weight", "time_mix_w0.weight", "time_mix_w1.weight", "time_mix_w2.weight",
	"time_mix_v0.weight", "time_mix_v1.weight", "time_mix_v2.weight", "time_mix_a0.weight",
	"time_mix_a1.weight", "time_mix_a2.weight", "time_mix_g1.weight", "time_mix_g2.weight",
	"time_mix_decay_w1.weight", "time_mix_decay_w2.weight", "time_mix_lerp_fused.weight",
	"attn_rel_b.weight", ".position_embd", "sam.pos_embd", "sam.neck.", "sam.net_", ".rel_pos",
	".patch_embd", ".patch_merger", "a.rvq.codebook", "mm.a.code_embd",
}

// quantizable reports whether llama.cpp would change the type of t at all:
// only weights of two or more dimensions, and not norms, routers or the other
// names in keepNames.
func quantizable(t TensorInfo) bool {
	if nDims(t.Dims) < 2 || !strings.HasSuffix(t.Name, "weight") {
		return false
	}
	if t.Name == "position_embd.weight" || t.Name == "token_types.weight" {
		return false
	}
	for _, s := range keepNames {
		if strings.Contains(t.Name, s) {
			return false
		}
	}
	return true
}

// nDims counts dimensions as ggml_n_dims does: trailing 1s do not count.
func nDims(dims []uint64) int {
	n := len(dims)
	for n > 1 && dims[n-1] == 1 {
		n--
	}
	return n
}

// layerOf returns N of a "blk.N." name, or -1.
func layerOf(name string) int {
	rest, ok := strings.CutPrefix(name, "blk.")
	if !ok {
		return -1
	}
	num, _, ok := strings.Cut(rest, ".")
	n, err := strconv.Atoi(num)
	if !ok || err != nil {
		return -1
	}
	return n
}

// llamaOrder sorts tensors as llama.cpp's model loader does: by layer number
// (non-layer tensors first), then by name. It returns the permutation.
func llamaOrder(ts []TensorInfo) []int {
	idx := make([]int, len(ts))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		if c := cmp.Compare(layerOf(ts[a].Name), layerOf(ts[b].Name)); c != 0 {
			return c
		}
		return strings.Compare(ts[a].Name, ts[b].Name)
	})
	return idx
}

// planner carries the counters llama.cpp keeps while it walks the tensors.
type planner struct {
	ft    FileType
	m     Model
	tied  bool // no output.weight: token_embd is the output projection
	nAttV int
	iAttV int
	iDown int
}

// useMoreBits selects the first and last eighth of the layers and every
// third layer in between.
func useMoreBits(i, n int) bool {
	return i < n/8 || i >= 7*n/8 || (i-n/8)%3 == 2
}

// PlanTensors returns the type each tensor gets under ft, in the order of
// ts, by llama.cpp's rules. Tensors it does not quantize keep their type. It
// fails for a recipe it does not implement, a layer number outside the model
// and a row length no fallback type can hold.
func PlanTensors(ft FileType, m Model, ts []TensorInfo) ([]quant.Type, error) {
	base, ok := ft.BaseType()
	if !ok {
		return nil, fmt.Errorf("quantize: file type %d is not implemented", uint32(ft))
	}
	p := &planner{ft: ft, m: m, tied: true}
	for _, t := range ts {
		c := categoryOf(t.Name)
		if c.attnVLike() {
			p.nAttV++
		}
		if c == catOutput {
			p.tied = false
		}
	}
	out := make([]quant.Type, len(ts))
	for _, i := range llamaOrder(ts) {
		t := ts[i]
		out[i] = t.Type
		if !quantizable(t) {
			continue
		}
		if !ft.quantized() {
			out[i] = base
			continue
		}
		typ, err := p.mix(t, base)
		if err != nil {
			return nil, err
		}
		if out[i], err = fallback(t, typ); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// mix applies the recipe's per-role rules to the base type.
func (p *planner) mix(t TensorInfo, typ quant.Type) (quant.Type, error) {
	ft, m := p.ft, p.m
	falcon := m.Arch == "falcon"
	c := categoryOf(t.Name)
	switch {
	case c == catOutput || (p.tied && c == catTokenEmbd):
		if falcon || int(t.Dims[0])%typ.BlockLen() != 0 {
			typ = quant.Q8_0
		} else if typ != quant.Q8_0 {
			typ = quant.Q6_K
		}
	case c == catTokenEmbd:
		// The base type, for every recipe implemented here.
	case c.attnVLike():
		switch {
		case ft == Q2_K:
			typ = quant.Q3_K
			if m.gqa() >= 4 {
				typ = quant.Q4_K
			}
		case ft == Q3_K_M:
			typ = quant.Q4_K
			if p.iAttV < 2 {
				typ = quant.Q5_K
			}
		case ft == Q3_K_L:
			typ = quant.Q5_K
		case (ft == Q4_K_M || ft == Q5_K_M) && useMoreBits(p.iAttV, p.nAttV):
			typ = quant.Q6_K
		case ft == Q4_K_S && p.iAttV < 4:
			typ = quant.Q5_K
		}
		if m.is70B() && (typ == quant.Q3_K || typ == quant.Q4_K) {
			typ = quant.Q5_K
		}
		if m.NExpert == 8 {
			typ = quant.Q8_0
		}
		p.iAttV++
	case c == catAttnK:
		if m.NExpert == 8 {
			typ = quant.Q8_0
		}
	case c == catFFNDown:
		i, n := p.iDown, m.NLayer
		if m.NExpert > 1 {
			// Expert tensors need not come one per layer in order: read the
			// layer from the name.
			i = layerOf(t.Name)
			if i < 0 || i >= n {
				return 0, fmt.Errorf("quantize: tensor %s: layer outside [0, %d)", t.Name, n)
			}
		}
		switch {
		case ft == Q2_K:
			typ = quant.Q3_K
		case ft == Q3_K_M:
			switch {
			case i < n/16:
				typ = quant.Q5_K
			case !falcon || useMoreBits(i, n):
				typ = quant.Q4_K
			default:
				typ = quant.Q3_K
			}
		case ft == Q3_K_L:
			typ = quant.Q5_K
			if falcon {
				typ = quant.Q4_K
			}
		case ft == Q4_K_M:
			if falcon {
				switch {
				case i < n/16:
					typ = quant.Q6_K
				case useMoreBits(i, n):
					typ = quant.Q5_K
				default:
					typ = quant.Q4_K
				}
			} else if useMoreBits(i, n) {
				typ = quant.Q6_K
			}
		case ft == Q5_K_M && useMoreBits(i, n):
			typ = quant.Q6_K
		case ft == Q4_K_S && !falcon && i < n/8:
			typ = quant.Q5_K
		}
		p.iDown++
	case c == catAttnOutput:
		switch {
		case falcon:
			if ft == Q3_K_L {
				typ = quant.Q4_K
			}
		case m.NExpert == 8:
			if ft == Q2_K || ft == Q3_K_S || ft == Q3_K_M || ft == Q4_K_S || ft == Q4_K_M {
				typ = quant.Q5_K
			}
		case ft == Q2_K:
			typ = quant.Q3_K
		case ft == Q3_K_M:
			typ = quant.Q4_K
		case ft == Q3_K_L:
			typ = quant.Q5_K
		}
	case c == catAttnQKV:
		switch ft {
		case Q3_K_M, Q3_K_L:
			typ = quant.Q4_K
		case Q4_K_M:
			typ = quant.Q5_K
		case Q5_K_M:
			typ = quant.Q6_K
		}
	}
	return typ, nil
}

// fallbackTypes maps a type to the one llama.cpp uses when a row is not a
// whole number of its blocks.
var fallbackTypes = map[quant.Type]quant.Type{
	quant.Q2_K: quant.Q4_0, quant.Q3_K: quant.Q4_0,
	quant.Q4_K: quant.Q5_0, quant.Q5_K: quant.Q5_1, quant.Q6_K: quant.Q8_0,
}

// fallback replaces typ when t's rows are not a whole number of its blocks:
// by a 32-element format, or F16 when even that does not fit.
func fallback(t TensorInfo, typ quant.Type) (quant.Type, error) {
	cols := int(t.Dims[0])
	if cols%typ.BlockLen() == 0 {
		return typ, nil
	}
	fb, ok := fallbackTypes[typ]
	if !ok {
		return 0, fmt.Errorf("quantize: tensor %s: rows of %d elements are not whole %s blocks of %d and %s has no fallback type",
			t.Name, cols, typ, typ.BlockLen(), typ)
	}
	if cols%fb.BlockLen() != 0 {
		return quant.F16, nil
	}
	return fb, nil
}
