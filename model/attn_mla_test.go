package model

import (
	"bytes"
	"encoding/binary"
	"math"
	"strings"
	"testing"

	"github.com/qilin-ai/qilin/gguf"
	"github.com/qilin-ai/qilin/kernels"
	"github.com/qilin-ai/qilin/quant"
)

// TestMLAKVBSplitAtLoad writes one deepseek2 model twice, once with
// attn_k_b/attn_v_b and once with the attn_kv_b an older conversion
// carries (the same F32 values, composed as llama.cpp's converter splits
// them), and checks that both give bit-identical logits.
func TestMLAKVBSplitAtLoad(t *testing.T) {
	s := tinySpecs[7] // deepseek2 with q LoRA
	if s.arch != "deepseek2" || s.kvb || s.wtype != quant.F32 {
		t.Fatalf("spec %s is not an F32 split deepseek2", s.name())
	}
	split, err := gguf.Parse(writeTiny(t, s, 7))
	if err != nil {
		t.Fatal(err)
	}
	H, L, N, V := s.heads, s.kvLora, s.nope, s.vHead
	f32 := func(t *gguf.Tensor) []float32 {
		v := make([]float32, t.NumElements())
		for i := range v {
			v[i] = math.Float32frombits(binary.LittleEndian.Uint32(t.Data[4*i:]))
		}
		return v
	}
	w := gguf.NewWriter()
	for _, kv := range split.KV {
		switch {
		case strings.HasSuffix(kv.Key, "_mla"):
		case strings.HasSuffix(kv.Key, ".attention.key_length"):
			w.SetKV(kv.Key, uint32(s.hd()))
		case strings.HasSuffix(kv.Key, ".attention.value_length"):
			w.SetKV(kv.Key, uint32(s.hv()))
		default:
			w.SetKV(kv.Key, kv.Value)
		}
	}
	for _, tn := range split.Tensors {
		p, ok := strings.CutSuffix(tn.Name, "attn_k_b.weight")
		switch {
		case strings.HasSuffix(tn.Name, "attn_v_b.weight"):
			continue
		case !ok:
			if err := w.AddTensor(tn.Name, tn.Type, tn.Dims, tn.Data); err != nil {
				t.Fatal(err)
			}
			continue
		}
		vbT, _ := split.Tensor(p + "attn_v_b.weight")
		kb, vb := f32(tn), f32(vbT) // (H, L, N), (H, V, L)
		kvb := make([]float32, H*(N+V)*L)
		for h := 0; h < H; h++ {
			for d := 0; d < N; d++ {
				for l := 0; l < L; l++ {
					kvb[(h*(N+V)+d)*L+l] = kb[(h*L+l)*N+d]
				}
			}
			copy(kvb[(h*(N+V)+N)*L:(h+1)*(N+V)*L], vb[h*V*L:(h+1)*V*L])
		}
		data := make([]byte, 4*len(kvb))
		if err := quant.Quantize(quant.F32, kvb, data); err != nil {
			t.Fatal(err)
		}
		if err := w.AddTensor(p+"attn_kv_b.weight", quant.F32, []uint64{uint64(L), uint64(H * (N + V))}, data); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	old, err := gguf.Parse(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}

	pool := kernels.NewPool(2)
	defer pool.Close()
	toks := []int{3, 1, 4, 1, 5, 9, 2, 6}
	logits := func(f *gguf.File) []float32 {
		m, err := Load(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, has := f.Tensor("blk.0.attn_kv_b.weight"); has != m.KVB {
			t.Fatalf("KVB = %v for a file with attn_kv_b %v", m.KVB, has)
		}
		r, c := m.NewRunner(pool, len(toks), 16), m.NewCache(16)
		b := &Batch{Tokens: toks, Pos: make([]int, len(toks)), Caches: make([]*Cache, len(toks)), Logits: make([]bool, len(toks))}
		for i := range toks {
			b.Pos[i], b.Caches[i], b.Logits[i] = i, c, true
		}
		out := make([]float32, len(toks)*m.NVocab)
		if err := r.Forward(b, out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	a, b := logits(split), logits(old)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("logit %d: %v with attn_k_b/attn_v_b, %v with attn_kv_b split at load", i, a[i], b[i])
		}
	}
}
