package train

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"

	"github.com/qilin-ai/qilin/gguf"
)

// Config holds a student's hyperparameters. What differs between the two
// architectures is data: qwen2 has biases on q, k and v and rotates halves
// of each head (NeoX layout); llama rotates adjacent pairs.
type Config struct {
	Arch     string  // general.architecture: "llama" or "qwen2"
	NVocab   int     // rows of token_embd
	NEmbd    int     // embedding_length
	NLayer   int     // block_count
	NHead    int     // attention.head_count
	NHeadKV  int     // attention.head_count_kv
	HeadDim  int     // per head, embedding_length/head_count unless set
	NFF      int     // feed_forward_length
	NCtx     int     // context_length written to the exported file
	RopeBase float64 // rope.freq_base
	NormEps  float32 // attention.layer_norm_rms_epsilon
	Tied     bool    // output projection is token_embd
}

// NeoX reports whether RoPE rotates halves of each head (qwen2) rather than
// adjacent pairs (llama).
func (c Config) NeoX() bool { return c.Arch == "qwen2" }

// QKVBias reports whether q, k and v have biases (qwen2).
func (c Config) QKVBias() bool { return c.Arch == "qwen2" }

// QDim is the width of the queries (and of the attention output), KVDim of
// the keys and of the values.
func (c Config) QDim() int  { return c.NHead * c.HeadDim }
func (c Config) KVDim() int { return c.NHeadKV * c.HeadDim }

// Shape is the JSON form of a student's shape (--student SHAPE.json), e.g.
// {"arch": "llama", "n_embd": 64, "n_layer": 4, "n_head": 4, "n_head_kv": 2,
// "n_ff": 176, "rope_base": 10000, "tied": true}. The vocabulary comes from
// the tokenizer.
type Shape struct {
	Arch     string  `json:"arch"`
	NEmbd    int     `json:"n_embd"`
	NLayer   int     `json:"n_layer"`
	NHead    int     `json:"n_head"`
	NHeadKV  int     `json:"n_head_kv"`
	HeadDim  int     `json:"head_dim"`
	NFF      int     `json:"n_ff"`
	NCtx     int     `json:"context_length"`
	RopeBase float64 `json:"rope_base"`
	NormEps  float64 `json:"norm_eps"`
	Tied     bool    `json:"tied"`
}

// ParseShape reads a Shape, rejecting unknown fields so that a misspelt
// key is an error rather than a silent default.
func ParseShape(data []byte) (Shape, error) {
	var s Shape
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return s, fmt.Errorf("train: student shape: %w", err)
	}
	return s, nil
}

// Config returns the configuration of a student with this shape over a
// vocabulary of nVocab tokens, with defaults for what the shape leaves out
// (n_head_kv = n_head, head_dim = n_embd/n_head, rope base 10000, norm eps
// 1e-5, context 2048).
func (s Shape) Config(nVocab int) (Config, error) {
	c := Config{
		Arch: s.Arch, NVocab: nVocab, NEmbd: s.NEmbd, NLayer: s.NLayer, NHead: s.NHead,
		NHeadKV: s.NHeadKV, HeadDim: s.HeadDim, NFF: s.NFF, NCtx: s.NCtx,
		RopeBase: s.RopeBase, NormEps: float32(s.NormEps), Tied: s.Tied,
	}
	if c.NHeadKV == 0 {
		c.NHeadKV = c.NHead
	}
	if c.HeadDim == 0 && c.NHead > 0 {
		c.HeadDim = c.NEmbd / c.NHead
	}
	if c.RopeBase == 0 {
		c.RopeBase = 10000
	}
	if c.NormEps == 0 {
		c.NormEps = 1e-5
	}
	if c.NCtx == 0 {
		c.NCtx = 2048
	}
	return c, c.Validate()
}

// maxDim bounds every dimension, so that a hostile shape or file cannot ask
// for absurd buffers.
const maxDim = 1 << 20

// Validate checks that c describes a model this package can train.
func (c Config) Validate() error {
	if c.Arch != "llama" && c.Arch != "qwen2" {
		return fmt.Errorf("train: architecture %q: the trainer builds llama and qwen2 students", c.Arch)
	}
	for _, d := range []struct {
		name string
		v    int
	}{{"n_vocab", c.NVocab}, {"n_embd", c.NEmbd}, {"n_layer", c.NLayer}, {"n_head", c.NHead},
		{"n_head_kv", c.NHeadKV}, {"head_dim", c.HeadDim}, {"n_ff", c.NFF}, {"context_length", c.NCtx}} {
		if d.v <= 0 || d.v > maxDim {
			return fmt.Errorf("train: %s = %d is out of range (1..%d)", d.name, d.v, maxDim)
		}
	}
	if c.NHead%c.NHeadKV != 0 {
		return fmt.Errorf("train: n_head %d is not a multiple of n_head_kv %d", c.NHead, c.NHeadKV)
	}
	if c.HeadDim%2 != 0 {
		return fmt.Errorf("train: head_dim %d must be even for rotary embeddings", c.HeadDim)
	}
	if math.IsNaN(c.RopeBase) || c.RopeBase <= 1 || !(c.NormEps > 0) {
		return fmt.Errorf("train: rope base %v and norm eps %v must be positive", c.RopeBase, c.NormEps)
	}
	if int64(c.NVocab)*int64(c.NEmbd) > 1<<34 || int64(c.NFF)*int64(c.NEmbd) > 1<<34 {
		return fmt.Errorf("train: a weight of %dx%d or %dx%d elements is too large", c.NVocab, c.NEmbd, c.NFF, c.NEmbd)
	}
	return nil
}

// ConfigFromGGUF reads the configuration of an existing llama or qwen2
// model (--init), with llama.cpp's defaults.
func ConfigFromGGUF(f *gguf.File) (Config, error) {
	c := Config{Arch: f.Arch()}
	if c.Arch != "llama" && c.Arch != "qwen2" {
		return c, fmt.Errorf("train: architecture %q: the trainer builds llama and qwen2 students", c.Arch)
	}
	get := func(key string, def int64) int {
		v := f.Int(f.ArchKey(key), def)
		if v < 0 || v > maxDim {
			return -1
		}
		return int(v)
	}
	c.NEmbd = get("embedding_length", 0)
	c.NLayer = get("block_count", 0)
	c.NHead = get("attention.head_count", 0)
	c.NHeadKV = get("attention.head_count_kv", int64(c.NHead))
	c.NFF = get("feed_forward_length", 0)
	c.NCtx = get("context_length", 2048)
	if c.NHead > 0 {
		c.HeadDim = get("attention.key_length", int64(c.NEmbd/c.NHead))
		if v := get("attention.value_length", int64(c.HeadDim)); v != c.HeadDim {
			return c, fmt.Errorf("train: attention key length %d differs from value length %d", c.HeadDim, v)
		}
		if r := get("rope.dimension_count", int64(c.HeadDim)); r != c.HeadDim {
			return c, fmt.Errorf("train: partial rotary embeddings (%d of %d dimensions) are not supported", r, c.HeadDim)
		}
	}
	c.RopeBase = f.Float(f.ArchKey("rope.freq_base"), 10000)
	c.NormEps = float32(f.Float(f.ArchKey("attention.layer_norm_rms_epsilon"), 1e-5))
	if t := f.String(f.ArchKey("rope.scaling.type"), ""); t != "" && t != "none" {
		return c, fmt.Errorf("train: rope scaling %q is not supported", t)
	}
	if _, ok := f.Tensor("rope_freqs.weight"); ok {
		return c, fmt.Errorf("train: rope_freqs (Llama 3.1 frequency scaling) is not supported")
	}
	emb, ok := f.Tensor("token_embd.weight")
	if !ok || len(emb.Dims) != 2 {
		return c, fmt.Errorf("train: the file has no 2-D token_embd.weight")
	}
	c.NVocab = int(min(emb.Dims[1], maxDim+1))
	_, untied := f.Tensor("output.weight")
	c.Tied = !untied
	return c, c.Validate()
}

// Params returns the number of parameters of a dense model of config c.
func (c Config) Params() int64 {
	var n int64
	for _, t := range c.tensors() {
		n += int64(t.size())
	}
	return n
}
