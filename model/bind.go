package model

import (
	"fmt"

	"github.com/qilin-ai/qilin/gguf"
	"github.com/qilin-ai/qilin/kernels"
	"github.com/qilin-ai/qilin/quant"
)

// Model is a loaded transformer: its hyperparameters and weights. The
// weights are views into the GGUF file's data (memory-mapped where possible);
// small vectors (norms, biases) are converted to float32 at load. A Model is
// read-only and safe to share between Runners.
type Model struct {
	Config

	TokEmbd    kernels.Matrix // token_embd (n_vocab, n_embd)
	OutputNorm []float32      // output_norm (n_embd)
	Output     kernels.Matrix // output (n_vocab, n_embd), token_embd when tied
	Layers     []Layer
}

// Layer is one transformer block (blk.N.*): x += Attn(norm(x)), then
// x += FFN(norm(x)), each block of the kind the layer uses.
type Layer struct {
	AttnNorm []float32 // attn_norm (n_embd)
	Attn     mixer
	FFNNorm  []float32 // ffn_norm (n_embd)
	FFN      feedForward
}

// Role says what a tensor is to the model: how Load converts it, and how a
// writer of random-weight models (synth, the tests) fills it.
type Role int

const (
	Weight      Role = iota // a matrix, or a stack of them (experts, heads), multiplied with activations
	Norm                    // an RMS norm's weight, around one
	Bias                    // a vector added to activations (or to router scores)
	RopeFactors             // per-frequency RoPE divisors (rope_freqs)
	Decay                   // a negative per-head decay rate (ssm_a = -exp(A_log))
)

// Tensor is one GGUF tensor a model binds: its name, its dimensions in
// ggml order (row length first) and its role.
type Tensor struct {
	Name string
	Dims []int
	Role Role
	dst  any // where Load binds it: *kernels.Matrix, *[]kernels.Matrix or *[]float32
}

// Tensors lists every tensor of a model with configuration c, in the order
// llama.cpp's converter writes them: the globals, then each layer's
// attention and FFN tensors. c.NVocab must be set. Load binds exactly this
// list; synth and the tests' tiny-model writers write it.
func Tensors(c *Config) []Tensor {
	m := &Model{Config: *c}
	return m.tensors()
}

// tensors lists m's tensors with their binding destinations in m, creating
// each layer's blocks of the kinds layerKinds chooses.
func (m *Model) tensors() []Tensor {
	c := &m.Config
	E := c.NEmbd
	ts := []Tensor{
		{Name: "token_embd.weight", Dims: []int{E, c.NVocab}, dst: &m.TokEmbd},
		{Name: "output_norm.weight", Dims: []int{E}, Role: Norm, dst: &m.OutputNorm},
	}
	if !c.Tied {
		ts = append(ts, Tensor{Name: "output.weight", Dims: []int{E, c.NVocab}, dst: &m.Output})
	}
	if c.RopeFactors {
		ts = append(ts, Tensor{Name: "rope_freqs.weight", Dims: []int{c.Rope.Dims / 2}, Role: RopeFactors, dst: &m.Rope.Factors})
	}
	m.Layers = make([]Layer, c.NLayer)
	for li := range m.Layers {
		l := &m.Layers[li]
		l.Attn, l.FFN = c.layerKinds(li)
		lt := layerTensors{p: fmt.Sprintf("blk.%d.", li)}
		lt.add("attn_norm.weight", Norm, &l.AttnNorm, E)
		l.Attn.declare(c, &lt)
		ffnNorm := "ffn_norm.weight"
		if c.Family.Hybrid {
			ffnNorm = "post_attention_norm.weight"
		}
		lt.add(ffnNorm, Norm, &l.FFNNorm, E)
		l.FFN.declare(c, &lt)
		ts = append(ts, lt.ts...)
	}
	return ts
}

// layerTensors collects the tensors of one layer under its blk.N. prefix.
type layerTensors struct {
	p  string
	ts []Tensor
}

// add declares tensor p+name with ggml dims, to be bound into dst.
func (l *layerTensors) add(name string, r Role, dst any, dims ...int) {
	l.ts = append(l.ts, Tensor{Name: l.p + name, Dims: dims, Role: r, dst: dst})
}

// Load binds a model's weights from an open GGUF file. The file must stay
// open while the model is used.
func Load(f *gguf.File) (*Model, error) {
	cfg, err := ReadConfig(f)
	if err != nil {
		return nil, err
	}
	m := &Model{Config: cfg}
	b := binder{f: f}
	for _, t := range m.tensors() {
		b.bind(t)
	}
	if b.err != nil {
		return nil, b.err
	}
	for _, l := range m.Layers {
		if p, ok := l.Attn.(preparer); ok {
			if err := p.prepare(&m.Config); err != nil {
				return nil, err
			}
		}
	}
	if cfg.Tied {
		m.Output = m.TokEmbd
	}
	return m, nil
}

// preparer is a block that derives weights from those it bound (MLA
// splitting the attn_kv_b of older files).
type preparer interface {
	prepare(c *Config) error
}

// binder looks tensors up by GGUF name and checks their shapes, keeping the
// first error.
type binder struct {
	f   *gguf.File
	err error
}

func (b *binder) bind(t Tensor) {
	if b.err != nil {
		return
	}
	gt, ok := b.f.Tensor(t.Name)
	if !ok {
		b.err = fmt.Errorf("model: missing tensor %s", t.Name)
		return
	}
	if len(gt.Dims) != len(t.Dims) {
		b.err = fmt.Errorf("model: tensor %s has shape %v, want %v", t.Name, gt.Dims, t.Dims)
		return
	}
	for i, d := range t.Dims {
		if int(gt.Dims[i]) != d {
			b.err = fmt.Errorf("model: tensor %s has shape %v, want %v", t.Name, gt.Dims, t.Dims)
			return
		}
	}
	switch dst := t.dst.(type) {
	case *kernels.Matrix:
		*dst, b.err = matrix(gt, gt.Rows())
	case *[]kernels.Matrix:
		*dst, b.err = stack(gt)
	case *[]float32:
		*dst = make([]float32, gt.NumElements())
		b.err = quant.Dequantize(gt.Type, gt.Data, *dst)
	default:
		panic(fmt.Sprintf("model: tensor %s has no binding", t.Name))
	}
	if b.err != nil {
		b.err = fmt.Errorf("model: tensor %s: %w", t.Name, b.err)
	}
}

// matrix views t's data as a matrix of rows rows.
func matrix(t *gguf.Tensor, rows int) (kernels.Matrix, error) {
	return kernels.NewMatrix(t.Type, rows, int(t.Dims[0]), t.Data)
}

// stack views a 3-D tensor with ne = (cols, rows, n) as n matrices, laid
// out as MoE experts (mul_mat_id); a block whose stack llama.cpp multiplies
// otherwise sets their Layout when it prepares.
func stack(t *gguf.Tensor) ([]kernels.Matrix, error) {
	n, rows := int(t.Dims[2]), int(t.Dims[1])
	all, err := matrix(t, n*rows)
	if err != nil {
		return nil, err
	}
	ms := make([]kernels.Matrix, n)
	for e := range ms {
		ms[e] = all.Slice(e*rows, (e+1)*rows)
		ms[e].Layout = kernels.Expert
	}
	return ms, nil
}
