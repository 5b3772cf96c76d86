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
// transformer. The tensors that are optional (biases, q/k norms, output,
// rope_freqs, experts) are bound when present whatever the family says.
type Arch struct {
	Name     string
	RopeNeoX bool // rotate halves (GPT-NeoX layout) rather than adjacent pairs
	// QKNorm requires per-head RMS norms on q and k (attn_q_norm, attn_k_norm).
	QKNorm bool
	// MoE requires a mixture-of-experts FFN (ffn_gate_inp, ffn_*_exps).
	MoE bool
	// NormTopKProb renormalizes the selected experts' weights to sum to one.
	NormTopKProb bool
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
