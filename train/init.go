package train

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/qilin-ai/qilin/gguf"
	"github.com/qilin-ai/qilin/kernels"
	"github.com/qilin-ai/qilin/quant"
)

// initStd is the standard deviation of a new student's weights (GPT-2's);
// the projections back into the residual stream (attn_output, ffn_down)
// are scaled down by 1/sqrt(2 n_layer) so that the stream's variance does
// not grow with depth.
const initStd = 0.02

// NewStudent returns a student of config c with random weights drawn from
// seed, for micro-batches of up to rows x T positions, using pool.
func NewStudent(c Config, pool *kernels.Pool, rows, T int, seed uint64) (*Model, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	params := newParamSet(c.tensors())
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	for _, s := range params.specs {
		v := params.data[s.off : s.off+s.size()]
		switch {
		case strings.HasSuffix(s.name, "norm.weight"):
			for i := range v {
				v[i] = 1
			}
		case s.matrix:
			std := initStd
			if strings.HasSuffix(s.name, "attn_output.weight") || strings.HasSuffix(s.name, "ffn_down.weight") {
				std /= math.Sqrt(2 * float64(c.NLayer))
			}
			for i := range v {
				v[i] = float32(rng.NormFloat64() * std)
			}
		}
	}
	return newModel(c, pool, rows, T, params, nil, nil), nil
}

// LoRA configures low-rank adapters: each targeted projection W gains
// trainable A (Rank, in) and B (out, Rank), B starting at zero, and computes
// x W^T + Alpha/Rank * x A^T B^T while W stays frozen.
type LoRA struct {
	Rank  int
	Alpha float64
	// Targets names the projections that get adapters: "attn" (attn_q,
	// attn_k, attn_v, attn_output) and "ffn" (ffn_gate, ffn_up, ffn_down).
	Targets []string
}

// loraTargets maps a target group to the projections it names.
var loraTargets = map[string][]string{
	"attn": {"attn_q", "attn_k", "attn_v", "attn_output"},
	"ffn":  {"ffn_gate", "ffn_up", "ffn_down"},
}

func (l *LoRA) validate() error {
	if l.Rank <= 0 || l.Rank > 4096 {
		return fmt.Errorf("train: LoRA rank %d is out of range (1..4096)", l.Rank)
	}
	if !(l.Alpha > 0) {
		return fmt.Errorf("train: LoRA alpha %v must be positive", l.Alpha)
	}
	if len(l.Targets) == 0 {
		return fmt.Errorf("train: LoRA needs at least one target (attn, ffn)")
	}
	for _, t := range l.Targets {
		if _, ok := loraTargets[t]; !ok {
			return fmt.Errorf("train: unknown LoRA target %q (attn, ffn)", t)
		}
	}
	return nil
}

// FromGGUF returns a student initialized from an existing llama or qwen2
// model (--init). Without lora every weight is dequantized to float32 and
// trained; with lora the matrices stay frozen in the file's block formats
// (f must stay open while the model is used) and only adapters train,
// their A factors drawn from seed.
func FromGGUF(f *gguf.File, pool *kernels.Pool, rows, T int, lora *LoRA, seed uint64) (*Model, error) {
	c, err := ConfigFromGGUF(f)
	if err != nil {
		return nil, err
	}
	specs := c.tensors()
	tensor := func(s tensorSpec) (*gguf.Tensor, error) {
		t, ok := f.Tensor(s.name)
		if !ok {
			return nil, fmt.Errorf("train: %s: missing tensor %s", c.Arch, s.name)
		}
		want := s.dims()
		if len(t.Dims) != len(want) || t.Dims[0] != want[0] || (len(want) == 2 && t.Dims[1] != want[1]) {
			return nil, fmt.Errorf("train: tensor %s has shape %v, want %v", s.name, t.Dims, want)
		}
		if !quant.Supported(t.Type) {
			return nil, fmt.Errorf("train: tensor %s: type %s is not supported", s.name, t.Type)
		}
		return t, nil
	}
	if lora == nil {
		params := newParamSet(specs)
		for _, s := range params.specs {
			t, err := tensor(s)
			if err != nil {
				return nil, err
			}
			if err := quant.Dequantize(t.Type, t.Data, params.get(s.name)); err != nil {
				return nil, fmt.Errorf("train: tensor %s: %w", s.name, err)
			}
		}
		return newModel(c, pool, rows, T, params, nil, nil), nil
	}
	if err := lora.validate(); err != nil {
		return nil, err
	}
	targeted := map[string]bool{}
	for _, g := range lora.Targets {
		for _, n := range loraTargets[g] {
			targeted[n] = true
		}
	}
	var vecs []tensorSpec
	frozen := map[string]kernels.Matrix{}
	for _, s := range specs {
		t, err := tensor(s)
		if err != nil {
			return nil, err
		}
		if !s.matrix {
			s.frozen = true
			vecs = append(vecs, s)
			continue
		}
		m, err := kernels.NewMatrix(t.Type, s.rows, s.cols, t.Data)
		if err != nil {
			return nil, fmt.Errorf("train: tensor %s: %w", s.name, err)
		}
		frozen[s.name] = m
		if parts := strings.Split(s.name, "."); len(parts) == 4 && parts[0] == "blk" && targeted[parts[2]] {
			p := strings.TrimSuffix(s.name, ".weight")
			vecs = append(vecs,
				tensorSpec{name: p + ".lora_a", rows: lora.Rank, cols: s.cols, matrix: true},
				tensorSpec{name: p + ".lora_b", rows: s.rows, cols: lora.Rank, matrix: true})
		}
	}
	params := newParamSet(vecs)
	for _, s := range params.specs {
		v := params.get(s.name)
		switch {
		case strings.HasSuffix(s.name, ".lora_a"):
		case strings.HasSuffix(s.name, ".lora_b"):
			continue // B starts at zero: the adapted model starts as the base
		default:
			t, _ := tensor(s)
			if err := quant.Dequantize(t.Type, t.Data, v); err != nil {
				return nil, fmt.Errorf("train: tensor %s: %w", s.name, err)
			}
			continue
		}
		// A: uniform in ±1/sqrt(in), as PEFT's Kaiming-uniform init.
		rng := rand.New(rand.NewPCG(seed, uint64(s.off)))
		bound := 1 / math.Sqrt(float64(s.cols))
		for i := range v {
			v[i] = float32((2*rng.Float64() - 1) * bound)
		}
	}
	l := *lora
	return newModel(c, pool, rows, T, params, func(name string) kernels.Matrix { return frozen[name] }, &l), nil
}
