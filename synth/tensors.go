package synth

import (
	"math"

	"github.com/qilin-ai/qilin/model"
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
	decayRates                     // ssm_a = -A, A uniform on [1, 16] (Qwen3.5's A_log init)
)

func (t tensorSpec) elements() int64 {
	n := int64(1)
	for _, d := range t.dims {
		n *= int64(d)
	}
	return n
}

// config returns the model configuration of the shape, as model.Load will
// read it from the written file.
func (s *Shape) config() (*model.Config, error) {
	c, err := model.NewConfig(s.Arch)
	if err != nil {
		return nil, err
	}
	c.NVocab, c.NEmbd, c.NLayer, c.NHead, c.NHeadKV = s.NVocab, s.NEmbd, s.NLayer, s.NHead, s.NHeadKV
	c.HeadDimK, c.HeadDimV, c.NFF = s.HeadDim, s.HeadDim, s.NFF
	c.NExpert, c.NExpertUse, c.NFFExpert = s.NExpert, s.NExpUsed, s.NFFExpert
	c.Rope.Dims = s.HeadDim
	c.Tied, c.QKVBias, c.QKNorm, c.RopeFactors = s.Tied, s.QKVBias, s.QKNorm, s.Llama3Rope != nil
	if s.RopeDim > 0 {
		c.Rope.Dims = s.RopeDim
	}
	if s.VHeadDim > 0 {
		c.HeadDimV = s.VHeadDim
	}
	c.QLoraRank, c.KVLoraRank, c.NLeadDense = s.QLoraRank, s.KVLoraRank, s.LeadDense
	c.NExpertShared, c.ProbsBias = s.NExpShared, s.ScoreBias
	if s.SSM != nil {
		s.hybridConfig(c)
	}
	return c, nil
}

// tensors lists the shape's tensors with llama.cpp's GGUF names and
// dimensions (ggml order: row length first), as package model binds them,
// and how their random values are made.
func (s *Shape) tensors() []tensorSpec {
	c, err := s.config()
	if err != nil {
		panic(err) // the registered shapes have supported architectures
	}
	var ts []tensorSpec
	for _, t := range model.Tensors(c) {
		dims := make([]uint64, len(t.Dims))
		for i, d := range t.Dims {
			dims[i] = uint64(d)
		}
		spec := tensorSpec{name: t.Name, dims: dims}
		switch t.Role {
		case model.Weight:
			// Scaled by the fan-in so that activations stay O(1).
			// Embeddings of released models have a standard deviation
			// of a few hundredths; as the tied output projection this
			// keeps logits O(1).
			spec.kind, spec.std = randomMatrix, 1/math.Sqrt(float64(dims[0]))
			if t.Name == "token_embd.weight" {
				spec.std = 0.02
			}
		case model.Bias:
			spec.kind, spec.std = randomVector, 0.1
		case model.Norm:
			spec.kind = ones
		case model.RopeFactors:
			spec.kind = llama3Factors
		case model.Decay:
			spec.kind = decayRates
		}
		ts = append(ts, spec)
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
