package train

import (
	"fmt"
	"strings"

	"github.com/qilin-ai/qilin/gguf"
	"github.com/qilin-ai/qilin/quant"
)

// ExportOptions say how a student is written.
type ExportOptions struct {
	// Type of the matrices: quant.F32 or quant.F16 (vectors are always F32,
	// as llama.cpp's converter writes them).
	Type quant.Type
	// Name is general.name.
	Name string
	// Tokenizer is the file whose tokenizer.* metadata (vocabulary, merges,
	// special ids, chat template) the student carries.
	Tokenizer *gguf.File
}

// Export writes the student as a GGUF file at path (atomically): the
// architecture's metadata as llama.cpp's loader reads it (uint32 counts,
// float32 rope base and norm epsilon), the tokenizer's metadata, and the
// weights with any LoRA adapters merged (W + alpha/r B A).
func (m *Model) Export(path string, opts ExportOptions) error {
	w, err := m.exportWriter(opts)
	if err != nil {
		return err
	}
	return w.WriteFile(path)
}

func (m *Model) exportWriter(opts ExportOptions) (*gguf.Writer, error) {
	c := m.Config
	if opts.Type != quant.F32 && opts.Type != quant.F16 {
		return nil, fmt.Errorf("train: export type %s: only f32 and f16 are written (quantize the result with qilin quantize)", opts.Type)
	}
	if opts.Tokenizer == nil {
		return nil, fmt.Errorf("train: export needs a tokenizer")
	}
	if n := len(opts.Tokenizer.Strings("tokenizer.ggml.tokens")); n != c.NVocab {
		return nil, fmt.Errorf("train: the tokenizer has %d tokens, the student's vocabulary %d", n, c.NVocab)
	}
	w := gguf.NewWriter()
	a := c.Arch + "."
	w.SetKV("general.architecture", c.Arch)
	w.SetKV("general.name", opts.Name)
	fileType := uint32(0) // LLAMA_FTYPE_ALL_F32
	if opts.Type == quant.F16 {
		fileType = 1 // LLAMA_FTYPE_MOSTLY_F16
	}
	w.SetKV("general.file_type", fileType)
	w.SetKV(a+"vocab_size", uint32(c.NVocab))
	w.SetKV(a+"context_length", uint32(c.NCtx))
	w.SetKV(a+"embedding_length", uint32(c.NEmbd))
	w.SetKV(a+"block_count", uint32(c.NLayer))
	w.SetKV(a+"feed_forward_length", uint32(c.NFF))
	w.SetKV(a+"attention.head_count", uint32(c.NHead))
	w.SetKV(a+"attention.head_count_kv", uint32(c.NHeadKV))
	if c.HeadDim != c.NEmbd/c.NHead {
		w.SetKV(a+"attention.key_length", uint32(c.HeadDim))
		w.SetKV(a+"attention.value_length", uint32(c.HeadDim))
	}
	w.SetKV(a+"rope.dimension_count", uint32(c.HeadDim))
	w.SetKV(a+"rope.freq_base", float32(c.RopeBase))
	w.SetKV(a+"attention.layer_norm_rms_epsilon", c.NormEps)
	for _, kv := range opts.Tokenizer.KV {
		if strings.HasPrefix(kv.Key, "tokenizer.") {
			w.SetKV(kv.Key, kv.Value)
		}
	}
	for _, s := range c.tensors() {
		v, err := m.weight(s)
		if err != nil {
			return nil, err
		}
		t := quant.F32
		if s.matrix {
			t = opts.Type
		}
		rb, err := t.RowSize(s.cols)
		if err != nil {
			return nil, err
		}
		data := make([]byte, rb*s.rows)
		if err := quant.Quantize(t, v, data); err != nil {
			return nil, fmt.Errorf("train: tensor %s: %w", s.name, err)
		}
		if err := w.AddTensor(s.name, t, s.dims(), data); err != nil {
			return nil, err
		}
	}
	return w, nil
}

// weight returns the float32 value of one tensor of the dense model: the
// parameter, or the frozen base dequantized with its adapter merged.
func (m *Model) weight(s tensorSpec) ([]float32, error) {
	if m.params.has(s.name) {
		return m.params.get(s.name), nil
	}
	l := m.linearByWeight(s.name)
	if l == nil || l.base.Data == nil {
		return nil, fmt.Errorf("train: no weights for tensor %s", s.name)
	}
	v := make([]float32, s.size())
	if err := quant.Dequantize(l.base.Type, l.base.Data, v); err != nil {
		return nil, fmt.Errorf("train: tensor %s: %w", s.name, err)
	}
	if a := l.ad; a != nil {
		// W += s * B (out, r) @ A (r, in)
		for o := 0; o < l.out; o++ {
			row := v[o*l.in : (o+1)*l.in]
			for k := 0; k < a.r; k++ {
				f := a.scale * a.b[o*a.r+k]
				for i, x := range a.a[k*l.in : (k+1)*l.in] {
					row[i] += f * x
				}
			}
		}
	}
	return v, nil
}

// linearByWeight returns the projection whose weight is the named tensor
// (token_embd counts as the output projection's weight when tied).
func (m *Model) linearByWeight(name string) *linear {
	base := strings.TrimSuffix(name, ".weight")
	if base == "token_embd" {
		return &linear{name: base, base: m.embBase}
	}
	if base == "output" {
		return m.out
	}
	for _, b := range m.blocks {
		for _, l := range []*linear{b.q, b.k, b.v, b.o, b.gate, b.up, b.down} {
			if l.name == base {
				return l
			}
		}
	}
	return nil
}
