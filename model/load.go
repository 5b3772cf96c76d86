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
	Arch Arch

	TokEmbd    kernels.Matrix // token_embd (n_vocab, n_embd)
	OutputNorm []float32      // output_norm (n_embd)
	Output     kernels.Matrix // output (n_vocab, n_embd), token_embd when tied
	Layers     []Layer
}

// Layer holds the weights of one transformer block (blk.N.*).
type Layer struct {
	AttnNorm []float32      // attn_norm (n_embd)
	Wq       kernels.Matrix // attn_q (n_head*head_k, n_embd)
	Wk       kernels.Matrix // attn_k (n_head_kv*head_k, n_embd)
	Wv       kernels.Matrix // attn_v (n_head_kv*head_v, n_embd)
	Wo       kernels.Matrix // attn_output (n_embd, n_head*head_v)
	Bq       []float32      // attn_q.bias (n_head*head_k), optional
	Bk       []float32      // attn_k.bias (n_head_kv*head_k), optional
	Bv       []float32      // attn_v.bias (n_head_kv*head_v), optional
	Bo       []float32      // attn_output.bias (n_embd), optional
	QNorm    []float32      // attn_q_norm (head_k), optional
	KNorm    []float32      // attn_k_norm (head_k), optional

	FFNNorm []float32      // ffn_norm (n_embd)
	Gate    kernels.Matrix // ffn_gate (n_ff, n_embd), dense FFN
	Up      kernels.Matrix // ffn_up (n_ff, n_embd)
	Down    kernels.Matrix // ffn_down (n_embd, n_ff)

	Router  kernels.Matrix   // ffn_gate_inp (n_expert, n_embd), MoE
	ExpGate []kernels.Matrix // ffn_gate_exps[e] (n_ff_exp, n_embd)
	ExpUp   []kernels.Matrix // ffn_up_exps[e] (n_ff_exp, n_embd)
	ExpDown []kernels.Matrix // ffn_down_exps[e] (n_embd, n_ff_exp)
}

// Load binds a model's weights from an open GGUF file. The file must stay
// open while the model is used.
func Load(f *gguf.File) (*Model, error) {
	a, err := lookupArch(f.Arch())
	if err != nil {
		return nil, err
	}
	cfg, err := readConfig(f, a)
	if err != nil {
		return nil, err
	}
	m := &Model{Config: cfg, Arch: a}
	b := binder{f: f}

	m.TokEmbd = b.matrix("token_embd.weight", -1, cfg.NEmbd)
	m.NVocab = m.TokEmbd.Rows
	m.OutputNorm = b.vector("output_norm.weight", cfg.NEmbd, true)
	if _, ok := f.Tensor("output.weight"); ok {
		m.Output = b.matrix("output.weight", m.NVocab, cfg.NEmbd)
	} else {
		m.Output = m.TokEmbd
	}
	if _, ok := f.Tensor("rope_freqs.weight"); ok {
		m.Rope.Factors = b.vector("rope_freqs.weight", cfg.Rope.Dims/2, true)
	}

	qDim, kDim, vDim := cfg.NHead*cfg.HeadDimK, cfg.NHeadKV*cfg.HeadDimK, cfg.NHeadKV*cfg.HeadDimV
	m.Layers = make([]Layer, cfg.NLayer)
	for i := range m.Layers {
		l := &m.Layers[i]
		p := fmt.Sprintf("blk.%d.", i)
		l.AttnNorm = b.vector(p+"attn_norm.weight", cfg.NEmbd, true)
		l.Wq = b.matrix(p+"attn_q.weight", qDim, cfg.NEmbd)
		l.Wk = b.matrix(p+"attn_k.weight", kDim, cfg.NEmbd)
		l.Wv = b.matrix(p+"attn_v.weight", vDim, cfg.NEmbd)
		l.Wo = b.matrix(p+"attn_output.weight", cfg.NEmbd, cfg.NHead*cfg.HeadDimV)
		l.Bq = b.vector(p+"attn_q.bias", qDim, false)
		l.Bk = b.vector(p+"attn_k.bias", kDim, false)
		l.Bv = b.vector(p+"attn_v.bias", vDim, false)
		l.Bo = b.vector(p+"attn_output.bias", cfg.NEmbd, false)
		l.QNorm = b.vector(p+"attn_q_norm.weight", cfg.HeadDimK, a.QKNorm)
		l.KNorm = b.vector(p+"attn_k_norm.weight", cfg.HeadDimK, a.QKNorm)
		l.FFNNorm = b.vector(p+"ffn_norm.weight", cfg.NEmbd, true)
		if a.MoE {
			l.Router = b.matrix(p+"ffn_gate_inp.weight", cfg.NExpert, cfg.NEmbd)
			l.ExpGate = b.experts(p+"ffn_gate_exps.weight", cfg.NExpert, cfg.NFFExpert, cfg.NEmbd)
			l.ExpUp = b.experts(p+"ffn_up_exps.weight", cfg.NExpert, cfg.NFFExpert, cfg.NEmbd)
			l.ExpDown = b.experts(p+"ffn_down_exps.weight", cfg.NExpert, cfg.NEmbd, cfg.NFFExpert)
		} else {
			l.Gate = b.matrix(p+"ffn_gate.weight", cfg.NFF, cfg.NEmbd)
			l.Up = b.matrix(p+"ffn_up.weight", cfg.NFF, cfg.NEmbd)
			l.Down = b.matrix(p+"ffn_down.weight", cfg.NEmbd, cfg.NFF)
		}
	}
	if b.err != nil {
		return nil, b.err
	}
	return m, nil
}

// binder looks tensors up by GGUF name and checks their shapes, keeping the
// first error so that Load reads top-down.
type binder struct {
	f   *gguf.File
	err error
}

func (b *binder) tensor(name string, required bool) *gguf.Tensor {
	if b.err != nil {
		return nil
	}
	t, ok := b.f.Tensor(name)
	if !ok {
		if required {
			b.err = fmt.Errorf("model: missing tensor %s", name)
		}
		return nil
	}
	return t
}

// matrix binds a 2-D weight with ne = (cols, rows); rows < 0 accepts any.
func (b *binder) matrix(name string, rows, cols int) kernels.Matrix {
	t := b.tensor(name, true)
	if t == nil {
		return kernels.Matrix{}
	}
	if len(t.Dims) != 2 || int(t.Dims[0]) != cols || (rows >= 0 && int(t.Dims[1]) != rows) {
		b.err = fmt.Errorf("model: tensor %s has shape %v, want [%d %d]", name, t.Dims, cols, rows)
		return kernels.Matrix{}
	}
	m, err := kernels.NewMatrix(t.Type, int(t.Dims[1]), cols, t.Data)
	if err != nil {
		b.err = fmt.Errorf("model: tensor %s: %w", name, err)
	}
	return m
}

// experts binds a 3-D expert weight with ne = (cols, rows, n) as n matrices.
func (b *binder) experts(name string, n, rows, cols int) []kernels.Matrix {
	t := b.tensor(name, true)
	if t == nil {
		return nil
	}
	if len(t.Dims) != 3 || int(t.Dims[0]) != cols || int(t.Dims[1]) != rows || int(t.Dims[2]) != n {
		b.err = fmt.Errorf("model: tensor %s has shape %v, want [%d %d %d]", name, t.Dims, cols, rows, n)
		return nil
	}
	all, err := kernels.NewMatrix(t.Type, n*rows, cols, t.Data)
	if err != nil {
		b.err = fmt.Errorf("model: tensor %s: %w", name, err)
		return nil
	}
	ms := make([]kernels.Matrix, n)
	for e := range ms {
		ms[e] = all.Slice(e*rows, (e+1)*rows)
		ms[e].Expert = true
	}
	return ms
}

// vector binds a 1-D tensor of n elements, converted to float32.
func (b *binder) vector(name string, n int, required bool) []float32 {
	t := b.tensor(name, required)
	if t == nil {
		return nil
	}
	if len(t.Dims) != 1 || int(t.Dims[0]) != n {
		b.err = fmt.Errorf("model: tensor %s has shape %v, want [%d]", name, t.Dims, n)
		return nil
	}
	v := make([]float32, n)
	if err := quant.Dequantize(t.Type, t.Data, v); err != nil {
		b.err = fmt.Errorf("model: tensor %s: %w", name, err)
		return nil
	}
	return v
}
