package synth

import (
	"fmt"
	"math"
)

// tensorSpec is one tensor of a shape and how its random values are made.
type tensorSpec struct {
	name string
	dims []uint64 // ggml order
	kind valueKind
	std  float64 // for random kinds
}

// valueKind says how a tensor's values are chosen.
type valueKind int

const (
	randomMatrix  valueKind = iota // uniform with standard deviation std
	randomVector                   // uniform with standard deviation std (biases)
	ones                           // norm weights
	llama3Factors                  // rope_freqs of Llama 3.1 scaling
)

func (t tensorSpec) elements() int64 {
	n := int64(1)
	for _, d := range t.dims {
		n *= int64(d)
	}
	return n
}

// tensors lists the shape's tensors with llama.cpp's GGUF names and
// dimensions (ggml order: row length first).
func (s *Shape) tensors() []tensorSpec {
	E, V := uint64(s.NEmbd), uint64(s.NVocab)
	q, kv := uint64(s.NHead*s.HeadDim), uint64(s.NHeadKV*s.HeadDim)
	fanIn := func(n uint64) float64 { return 1 / math.Sqrt(float64(n)) }
	ts := []tensorSpec{
		// Embeddings of released models have a standard deviation of a few
		// hundredths; as the tied output projection this keeps logits O(1).
		{name: "token_embd.weight", dims: []uint64{E, V}, std: 0.02},
		{name: "output_norm.weight", dims: []uint64{E}, kind: ones},
	}
	if !s.Tied {
		ts = append(ts, tensorSpec{name: "output.weight", dims: []uint64{E, V}, std: fanIn(E)})
	}
	if s.Llama3Rope != nil {
		ts = append(ts, tensorSpec{name: "rope_freqs.weight", dims: []uint64{uint64(s.HeadDim / 2)}, kind: llama3Factors})
	}
	for i := 0; i < s.NLayer; i++ {
		p := fmt.Sprintf("blk.%d.", i)
		add := func(name string, kind valueKind, std float64, dims ...uint64) {
			ts = append(ts, tensorSpec{name: p + name, dims: dims, kind: kind, std: std})
		}
		add("attn_norm.weight", ones, 0, E)
		add("attn_q.weight", randomMatrix, fanIn(E), E, q)
		add("attn_k.weight", randomMatrix, fanIn(E), E, kv)
		add("attn_v.weight", randomMatrix, fanIn(E), E, kv)
		add("attn_output.weight", randomMatrix, fanIn(q), q, E)
		if s.QKVBias {
			add("attn_q.bias", randomVector, 0.1, q)
			add("attn_k.bias", randomVector, 0.1, kv)
			add("attn_v.bias", randomVector, 0.1, kv)
		}
		if s.QKNorm {
			add("attn_q_norm.weight", ones, 0, uint64(s.HeadDim))
			add("attn_k_norm.weight", ones, 0, uint64(s.HeadDim))
		}
		add("ffn_norm.weight", ones, 0, E)
		if s.NExpert > 0 {
			F, X := uint64(s.NFFExpert), uint64(s.NExpert)
			add("ffn_gate_inp.weight", randomMatrix, fanIn(E), E, X)
			add("ffn_gate_exps.weight", randomMatrix, fanIn(E), E, F, X)
			add("ffn_up_exps.weight", randomMatrix, fanIn(E), E, F, X)
			add("ffn_down_exps.weight", randomMatrix, fanIn(F), F, E, X)
		} else {
			F := uint64(s.NFF)
			add("ffn_gate.weight", randomMatrix, fanIn(E), E, F)
			add("ffn_up.weight", randomMatrix, fanIn(E), E, F)
			add("ffn_down.weight", randomMatrix, fanIn(F), F, E)
		}
	}
	return ts
}

// ropeFactors returns the per-frequency divisors of Llama 3.1's RoPE
// scaling for head size headDim and base theta: frequencies with
// wavelengths above the original context are divided by factor, those below
// it/high_freq_factor are kept, and those between are interpolated.
func (r *Llama3Rope) ropeFactors(headDim int, theta float64) []float32 {
	lowWave := float64(r.OriginalContext) / r.LowFreqFactor
	highWave := float64(r.OriginalContext) / r.HighFreqFactor
	out := make([]float32, headDim/2)
	for i := range out {
		freq := 1 / math.Pow(theta, float64(2*i)/float64(headDim))
		wave := 2 * math.Pi / freq
		switch {
		case wave < highWave:
			out[i] = 1
		case wave > lowWave:
			out[i] = float32(r.Factor)
		default:
			smooth := (float64(r.OriginalContext)/wave - r.LowFreqFactor) / (r.HighFreqFactor - r.LowFreqFactor)
			out[i] = float32(1 / ((1-smooth)/r.Factor + smooth))
		}
	}
	return out
}
