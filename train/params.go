package train

import (
	"fmt"
	"strings"
)

// tensorSpec is one tensor of a student, named as in GGUF. A matrix is
// (rows, cols) row-major, cols contiguous: ggml's dims [cols, rows]. A
// vector has rows == 1.
type tensorSpec struct {
	name       string
	rows, cols int
	matrix     bool
	frozen     bool // not trained (the vectors of a LoRA-trained model)
	off        int  // offset in the flat parameter buffer
}

func (t tensorSpec) size() int { return t.rows * t.cols }

// dims returns the tensor's dimensions in ggml order.
func (t tensorSpec) dims() []uint64 {
	if t.matrix {
		return []uint64{uint64(t.cols), uint64(t.rows)}
	}
	return []uint64{uint64(t.cols)}
}

// tensors lists a dense model's tensors in the order llama.cpp's converter
// writes them: token_embd, the blocks, output_norm, output.
func (c Config) tensors() []tensorSpec {
	E, qd, kd, F := c.NEmbd, c.QDim(), c.KVDim(), c.NFF
	mat := func(name string, rows, cols int) tensorSpec {
		return tensorSpec{name: name, rows: rows, cols: cols, matrix: true}
	}
	vec := func(name string, n int) tensorSpec { return tensorSpec{name: name, rows: 1, cols: n} }
	ts := []tensorSpec{mat("token_embd.weight", c.NVocab, E)}
	for l := 0; l < c.NLayer; l++ {
		p := fmt.Sprintf("blk.%d.", l)
		ts = append(ts, vec(p+"attn_norm.weight", E), mat(p+"attn_q.weight", qd, E))
		if c.QKVBias() {
			ts = append(ts, vec(p+"attn_q.bias", qd))
		}
		ts = append(ts, mat(p+"attn_k.weight", kd, E))
		if c.QKVBias() {
			ts = append(ts, vec(p+"attn_k.bias", kd))
		}
		ts = append(ts, mat(p+"attn_v.weight", kd, E))
		if c.QKVBias() {
			ts = append(ts, vec(p+"attn_v.bias", kd))
		}
		ts = append(ts, mat(p+"attn_output.weight", E, qd), vec(p+"ffn_norm.weight", E),
			mat(p+"ffn_gate.weight", F, E), mat(p+"ffn_up.weight", F, E), mat(p+"ffn_down.weight", E, F))
	}
	ts = append(ts, vec("output_norm.weight", E))
	if !c.Tied {
		ts = append(ts, mat("output.weight", c.NVocab, E))
	}
	return ts
}

// paramSet is a flat float32 buffer holding a list of tensors, llm.c's
// params_memory: one allocation, each tensor a view at its offset. The
// model's gradients and the optimizer's moments use the same layout.
type paramSet struct {
	specs []tensorSpec
	index map[string]int
	data  []float32
}

// newParamSet lays specs out one after another and allocates the buffer.
func newParamSet(specs []tensorSpec) *paramSet {
	p := &paramSet{index: map[string]int{}}
	off := 0
	for _, s := range specs {
		s.off = off
		off += s.size()
		p.index[s.name] = len(p.specs)
		p.specs = append(p.specs, s)
	}
	p.data = make([]float32, off)
	return p
}

// like returns a zeroed buffer with p's layout.
func (p *paramSet) like() *paramSet {
	return &paramSet{specs: p.specs, index: p.index, data: make([]float32, len(p.data))}
}

// has reports whether the set holds the named tensor.
func (p *paramSet) has(name string) bool {
	_, ok := p.index[name]
	return ok
}

// get returns the view of the named tensor; it panics for an unknown name,
// a programming error.
func (p *paramSet) get(name string) []float32 {
	i, ok := p.index[name]
	if !ok {
		panic("train: no tensor " + name)
	}
	s := p.specs[i]
	return p.data[s.off : s.off+s.size()]
}

// frozen reports whether the named tensor is frozen.
func (p *paramSet) frozen(name string) bool {
	i, ok := p.index[name]
	return ok && p.specs[i].frozen
}

// decayed reports whether weight decay applies to a tensor: matrices
// (embeddings and projections, LoRA factors included), not norms or biases.
func decayed(s tensorSpec) bool {
	return s.matrix && !strings.HasSuffix(s.name, ".bias")
}
