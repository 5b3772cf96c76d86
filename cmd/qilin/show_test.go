package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/qilin-ai/qilin/gguf"
	"github.com/qilin-ai/qilin/internal/testdata"
	"github.com/qilin-ai/qilin/quant"
)

// writeShowModel writes a tiny qwen2-shaped file: F32 embeddings of 8x1000,
// a Q8_0 weight of 64x40 and an F32 norm of 8, with typical metadata.
func writeShowModel(t *testing.T) string {
	t.Helper()
	w := gguf.NewWriter()
	w.SetKV("general.architecture", "qwen2")
	w.SetKV("general.name", "Tiny Show")
	w.SetKV("general.file_type", uint32(7))
	w.SetKV("qwen2.context_length", uint32(32768))
	w.SetKV("qwen2.embedding_length", uint32(8))
	w.SetKV("qwen2.block_count", uint32(1))
	w.SetKV("qwen2.attention.head_count", uint32(4))
	w.SetKV("qwen2.attention.head_count_kv", []int32{2, 1}) // per layer: largest shown
	w.SetKV("tokenizer.ggml.model", "gpt2")
	w.SetKV("tokenizer.ggml.pre", "qwen2")
	w.SetKV("tokenizer.ggml.tokens", []string{"a", "b", "c"})
	w.SetKV("tokenizer.chat_template", "{{ messages }}")
	for _, tn := range []struct {
		name string
		typ  quant.Type
		dims []uint64
	}{
		{"token_embd.weight", quant.F32, []uint64{8, 1000}},
		{"blk.0.attn_q.weight", quant.Q8_0, []uint64{64, 40}},
		{"output_norm.weight", quant.F32, []uint64{8}},
	} {
		size, err := tn.typ.RowSize(int(tn.dims[0]))
		if err != nil {
			t.Fatal(err)
		}
		rows := 1
		for _, d := range tn.dims[1:] {
			rows *= int(d)
		}
		if err := w.AddTensor(tn.name, tn.typ, tn.dims, make([]byte, size*rows)); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), "tiny.gguf")
	if err := w.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	return path
}

func runShowJSON(t *testing.T, args ...string) modelInfo {
	t.Helper()
	var out, errb bytes.Buffer
	if code := runMain(context.Background(), append([]string{"show"}, args...), &out, &errb); code != 0 {
		t.Fatalf("show %v: exit %d: %s", args, code, errb.String())
	}
	var info modelInfo
	if err := json.Unmarshal(out.Bytes(), &info); err != nil {
		t.Fatalf("show --json output is not one JSON object: %v\n%s", err, out.String())
	}
	return info
}

func TestShowTinyJSON(t *testing.T) {
	path := writeShowModel(t)
	got := runShowJSON(t, path, "--json")
	want := modelInfo{
		Path: path, Version: 3, FileSize: got.FileSize, Architecture: "qwen2", Name: "Tiny Show",
		Parameters: 8*1000 + 64*40 + 8, FileType: "Q8_0",
		Quantization: []quantShare{
			{Type: "F32", Tensors: 2, Bytes: 4 * (8*1000 + 8)},
			{Type: "Q8_0", Tensors: 1, Bytes: 34 * 2 * 40},
		},
		ContextLength: 32768, EmbeddingLength: 8, BlockCount: 1, HeadCount: 4, HeadCountKV: 2,
		TokenizerModel: "gpt2", TokenizerPre: "qwen2", VocabSize: 3, ChatTemplate: true,
		Tensors: 3, MetadataKeyValues: 12,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("show --json (-want +got):\n%s", diff)
	}
	if got.FileSize < int64(4*(8*1000+8)+34*2*40) {
		t.Errorf("file_size %d smaller than the tensor data", got.FileSize)
	}
	if flagFirst := runShowJSON(t, "--json", "--model", path); !cmp.Equal(flagFirst, got) {
		t.Errorf("show --json --model differs from show FILE --json")
	}
}

func TestShowTinyTable(t *testing.T) {
	path := writeShowModel(t)
	var out, errb bytes.Buffer
	if code := runMain(context.Background(), []string{"show", path}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, want := range []string{
		`(?m)^architecture +qwen2$`,
		`(?m)^parameters +10\.6K \(10568\)$`,
		`(?m)^file type +Q8_0$`,
		`(?m)^quantization +F32 +2 tensors +31\.3 KiB +92\.2%$`,
		`(?m)^ +Q8_0 +1 tensors +2\.7 KiB +7\.8%$`,
		`(?m)^context length +32768$`,
		`(?m)^kv heads +2$`,
		`(?m)^tokenizer +gpt2, pre-tokenizer qwen2$`,
		`(?m)^vocab size +3$`,
		`(?m)^chat template +yes$`,
	} {
		if !regexp.MustCompile(want).MatchString(out.String()) {
			t.Errorf("output lacks %s:\n%s", want, out.String())
		}
	}
}

func TestShowShared(t *testing.T) {
	path := testdata.Path(t, "models", "syn-qwen2-q4_k_m.gguf")
	got := runShowJSON(t, "--json", path)
	// From the testdata README: qwen2, n_embd 256, 2 layers, GQA 8/2,
	// 1024-token qwen2 BPE vocabulary, DeepSeek-R1-Distill chat template.
	if got.Architecture != "qwen2" || got.FileType != "Q4_K_M" || got.EmbeddingLength != 256 || got.BlockCount != 2 ||
		got.HeadCount != 8 || got.HeadCountKV != 2 || got.VocabSize != 1024 || !got.ChatTemplate ||
		got.TokenizerModel != "gpt2" || got.TokenizerPre != "qwen2" {
		t.Errorf("show --json = %+v", got)
	}
	types := map[string]bool{}
	var bytes int64
	for _, q := range got.Quantization {
		types[q.Type] = true
		bytes += q.Bytes
	}
	if !types["Q4_K"] || !types["Q6_K"] || bytes <= 0 || bytes > got.FileSize {
		t.Errorf("quantization mix %+v in a file of %d bytes", got.Quantization, got.FileSize)
	}
	// Tied output: parameters are the embeddings plus 2 layers, at least
	// 1024*256 for token_embd.
	if got.Parameters < 1024*256 {
		t.Errorf("parameters %d", got.Parameters)
	}
}

// The cache per token: f16 keys and values of every KV head (GQA), or
// one latent row (MLA), in every layer.
func TestShowKVCacheBytesPerToken(t *testing.T) {
	for _, tc := range []struct {
		file string
		want int64
	}{
		{"models/syn-qwen2-q4_k_m.gguf", 2 * 2 * 2 * (32 + 32)},    // 2 layers, 2 KV heads of 32+32
		{"models/syn-qwen3-q8_0.gguf", 2 * 2 * 4 * (64 + 64)},      // head_dim 64 decoupled from n_embd/n_head
		{"next/models/syn-deepseek2-q8_0.gguf", 2 * 3 * (64 + 16)}, // kv_lora_rank 64 + 16 rope dims, 3 layers
	} {
		got := runShowJSON(t, "--json", testdata.Path(t, tc.file))
		if got.KVCacheBytesPerToken != tc.want {
			t.Errorf("%s: kv_cache_bytes_per_token %d, want %d", tc.file, got.KVCacheBytesPerToken, tc.want)
		}
	}
}

// A hybrid model: its layer pattern, the cache of its one attention layer
// per token, and its recurrent state per sequence, which does not grow.
func TestShowRecurrentState(t *testing.T) {
	got := runShowJSON(t, "--json", testdata.Path(t, "next/models/syn-qwen35-q8_0.gguf"))
	// 3 Gated DeltaNet layers: conv window 3 × (2×2×32 + 4×32) and 4 value
	// heads of 32×32, f32; 1 attention layer of 2 KV heads of 64.
	state := int64(3 * 4 * (3*(2*2*32+4*32) + 4*32*32))
	if got.LayerPattern != "RRRA" || got.StateBytes != state || got.KVCacheBytesPerToken != 2*2*(64+64) {
		t.Errorf("layer_pattern %q, state_bytes_per_sequence %d, kv_cache_bytes_per_token %d; want RRRA, %d, %d",
			got.LayerPattern, got.StateBytes, got.KVCacheBytesPerToken, state, 2*2*(64+64))
	}
	var out, errb bytes.Buffer
	if code := runMain(context.Background(), []string{"show", testdata.Path(t, "next/models/syn-qwen35-q8_0.gguf")}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, want := range []string{`layer pattern\s+RRRA`, `recurrent state\s+57\.0 KiB per sequence`} {
		if !regexp.MustCompile(want).MatchString(out.String()) {
			t.Errorf("output lacks %s:\n%s", want, out.String())
		}
	}
	if p := periodic("RRRARRRARRRA"); p != "RRRA x 3" {
		t.Errorf("periodic = %q", p)
	}
}

func TestShowErrors(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.gguf")
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"show", "a", "b"}, 2, "one model"},
		{[]string{"show", filepath.Join(t.TempDir(), "missing.gguf")}, 1, "no such file"},
		{[]string{"show", bad}, 1, "bad magic"},
	}
	if err := os.WriteFile(bad, []byte("not a model at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		var out, errb bytes.Buffer
		code := runMain(context.Background(), tt.args, &out, &errb)
		if code != tt.code || !strings.Contains(errb.String(), tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and %q", tt.args, code, errb.String(), tt.code, tt.want)
		}
	}
}
