package model

import (
	"errors"
	"fmt"
	"sort"
)

// ErrUnsupportedArchitecture is returned by Load for a general.architecture
// that qilin does not implement.
var ErrUnsupportedArchitecture = errors.New("unsupported architecture")

// Arch declares how one architecture family differs from the generic
// transformer, as data. What differs as dataflow is the kind of each
// layer's blocks (attention: GQA or MLA; FFN: dense or MoE), which
// layerKinds chooses from this and the file's metadata. Tensors that are
// optional (biases, q/k norms, output, rope_freqs) are bound when present
// whatever the family says.
type Arch struct {
	Name     string
	RopeNeoX bool // rotate halves (GPT-NeoX layout) rather than adjacent pairs
	// QKNorm requires per-head RMS norms on q and k (attn_q_norm, attn_k_norm).
	QKNorm bool
	// MoE requires a mixture-of-experts FFN (ffn_gate_inp, ffn_*_exps) in
	// every layer from leading_dense_block_count on.
	MoE bool
	// NormTopKProb renormalizes the selected experts' weights to sum to one
	// unless the file says otherwise (expert_weights_norm).
	NormTopKProb bool
	// MLA uses multi-head latent attention (attn_mla.go) instead of GQA.
	MLA bool
	// Hybrid mixes Gated DeltaNet layers (deltanet.go) with gated
	// attention (attn_gated.go), as Config.Recurrent says, and names the
	// FFN's norm post_attention_norm (qwen35.go).
	Hybrid bool
}

var archs = map[string]Arch{}

func register(a Arch) { archs[a.Name] = a }

func lookupArch(name string) (Arch, error) {
	a, ok := archs[name]
	if !ok {
		return Arch{}, fmt.Errorf("model: %w %q (supported: %v)", ErrUnsupportedArchitecture, name, Architectures())
	}
	return a, nil
}

// Architectures lists the supported general.architecture values.
func Architectures() []string {
	var names []string
	for n := range archs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func init() {
	// llama: Llama 2/3, TinyStories and the DeepSeek-R1-Distill-Llama
	// models. RMSNorm, rotary embeddings on adjacent pairs (GGUF conversion
	// permutes q/k weights for this layout), grouped-query attention,
	// SwiGLU FFN. The output projection may be tied to token_embd; Llama
	// 3.1+ files carry rope_freqs for long-context frequency scaling.
	register(Arch{Name: "llama"})
	// qwen2: Qwen2/2.5 and the DeepSeek-R1-Distill-Qwen models: llama with
	// QKV biases (bound from the file) and NeoX rotary embeddings.
	register(Arch{Name: "qwen2", RopeNeoX: true})
	// qwen3: per-head RMS norms on q and k before RoPE, and a head size
	// decoupled from n_embd/n_head (attention.key_length).
	register(Arch{Name: "qwen3", RopeNeoX: true, QKNorm: true})
	// qwen3moe: qwen3 with a mixture-of-experts FFN in every layer: softmax
	// router, top-k experts whose weights are renormalized to sum to one.
	register(Arch{Name: "qwen3moe", RopeNeoX: true, QKNorm: true, MoE: true, NormTopKProb: true})
}

// layerKinds returns fresh, unbound blocks of the kinds layer li of a model
// with configuration c uses: its attention and its feed-forward network.
func (c *Config) layerKinds(li int) (mixer, feedForward) {
	var at mixer = &gqa{}
	switch {
	case c.Family.MLA:
		at = &mla{}
	case c.Family.Hybrid && c.isRecurrent(li):
		at = &deltaNet{}
	case c.Family.Hybrid:
		at = &gatedAttn{}
	}
	var ff feedForward = &dense{}
	if c.Family.MoE && li >= c.NLeadDense {
		ff = &moe{}
	}
	return at, ff
}
