package gguf

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qilin-ai/qilin/internal/testdata"
)

// sharedFiles returns every GGUF model and vocabulary in the shared testdata.
func sharedFiles(t *testing.T) []string {
	dir := testdata.Dir(t)
	var files []string
	for _, sub := range []string{"models", "vocab"} {
		m, err := filepath.Glob(filepath.Join(dir, sub, "*.gguf"))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Fatalf("no .gguf files in %s", dir)
	}
	return files
}

// checkLayout checks invariants every well-formed file from llama.cpp
// holds: tensors tile the data section in order, each padded to the
// alignment, up to the end of the file, and each Data is exactly its bytes.
func checkLayout(t *testing.T, f *File, fileSize int64) {
	t.Helper()
	a := uint64(f.Alignment)
	next := uint64(0)
	for _, tn := range f.Tensors {
		if tn.Offset != next {
			t.Errorf("tensor %s: offset %d, want %d (previous tensors padded to %d)", tn.Name, tn.Offset, next, a)
		}
		size, err := tn.Type.RowSize(int(tn.Dims[0]))
		if err != nil {
			t.Fatalf("tensor %s: %v", tn.Name, err)
		}
		want := size * tn.Rows()
		if len(tn.Data) != want || cap(tn.Data) != want {
			t.Errorf("tensor %s %v %v: len(Data)=%d cap=%d, want %d", tn.Name, tn.Type, tn.Dims, len(tn.Data), cap(tn.Data), want)
		}
		next = (tn.Offset + uint64(want) + a - 1) / a * a
	}
	if len(f.Tensors) > 0 {
		if got := f.DataOffset + int64(next); got < fileSize-int64(a) || got > fileSize+int64(a) {
			t.Errorf("tensors end at %d, file has %d bytes", got, fileSize)
		}
	}
}

func TestSharedFiles(t *testing.T) {
	for _, path := range sharedFiles(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			f, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if f.Size != fi.Size() {
				t.Errorf("Size = %d, want %d", f.Size, fi.Size())
			}
			if f.Version != 2 && f.Version != 3 {
				t.Errorf("Version = %d", f.Version)
			}
			checkLayout(t, f, fi.Size())
			toks := f.Strings("tokenizer.ggml.tokens")
			if len(toks) == 0 {
				t.Fatalf("no tokenizer.ggml.tokens")
			}
			if sc := f.Float32s("tokenizer.ggml.scores"); sc != nil && len(sc) != len(toks) {
				t.Errorf("%d scores for %d tokens", len(sc), len(toks))
			}
			if tt := f.Int32s("tokenizer.ggml.token_type"); tt != nil && len(tt) != len(toks) {
				t.Errorf("%d token types for %d tokens", len(tt), len(toks))
			}
			if emb, ok := f.Tensor("token_embd.weight"); ok {
				if emb.Dims[1] != uint64(len(toks)) {
					t.Errorf("token_embd rows %d, vocabulary %d", emb.Dims[1], len(toks))
				}
				if n := f.Uint(f.ArchKey("embedding_length"), 0); n != emb.Dims[0] {
					t.Errorf("%s = %d, token_embd row length %d", f.ArchKey("embedding_length"), n, emb.Dims[0])
				}
			}
			if strings.Contains(path, "models") {
				if f.Arch() == "" || len(f.Tensors) == 0 {
					t.Errorf("model with architecture %q and %d tensors", f.Arch(), len(f.Tensors))
				}
				if f.Uint(f.ArchKey("block_count"), 0) == 0 {
					t.Errorf("%s missing", f.ArchKey("block_count"))
				}
			}
		})
	}
}

// TestSharedVocabSizes checks vocabulary sizes stated in the testdata README.
func TestSharedVocabSizes(t *testing.T) {
	for name, want := range map[string]int{
		"ggml-vocab-qwen2.gguf":       151669,
		"ggml-vocab-llama3.gguf":      128256,
		"ggml-vocab-deepseek-v3.gguf": 128815,
	} {
		f, err := Open(testdata.Path(t, "vocab", name))
		if err != nil {
			t.Fatal(err)
		}
		if got := len(f.Strings("tokenizer.ggml.tokens")); got != want {
			t.Errorf("%s: %d tokens, want %d", name, got, want)
		}
		f.Close()
	}
}

func TestSharedStories260K(t *testing.T) {
	f, err := Open(testdata.Path(t, "models", "stories260K.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Arch() != "llama" || len(f.Tensors) != 48 || len(f.KV) != 19 {
		t.Errorf("arch %q, %d tensors, %d KV; want llama, 48, 19", f.Arch(), len(f.Tensors), len(f.KV))
	}
	if n := f.Uint("llama.block_count", 0); n != 5 {
		t.Errorf("llama.block_count = %d, want 5", n)
	}
	if h, kv := f.Uint("llama.attention.head_count", 0), f.Uint("llama.attention.head_count_kv", 0); h != 8 || kv != 4 {
		t.Errorf("heads %d/%d, want 8/4", h, kv)
	}
	if n := len(f.Strings("tokenizer.ggml.tokens")); n != 512 {
		t.Errorf("%d tokens, want 512", n)
	}
	if m := f.String("tokenizer.ggml.model", ""); m != "llama" {
		t.Errorf("tokenizer.ggml.model = %q", m)
	}
}

func TestSharedV1Refused(t *testing.T) {
	path := testdata.Path(t, "models", "bad", "tinyllamas-stories-260k-f32.ggufv1.gguf")
	for _, opts := range []Options{{}, {NoMmap: true}} {
		f, err := OpenWith(path, opts)
		if err == nil {
			f.Close()
			t.Fatal("GGUF v1 file opened without error")
		}
		if !strings.Contains(err.Error(), "version 1 is unsupported") {
			t.Errorf("error %q does not say version 1 is unsupported", err)
		}
	}
}

// TestSharedFileTypes checks general.file_type names against the
// quantization in each synthetic model's file name.
func TestSharedFileTypes(t *testing.T) {
	m, _ := filepath.Glob(filepath.Join(testdata.Dir(t), "models", "syn-*.gguf"))
	if len(m) == 0 {
		t.Fatal("no syn-*.gguf models")
	}
	for _, path := range m {
		base := strings.TrimSuffix(filepath.Base(path), ".gguf")
		want := strings.ToUpper(base[strings.LastIndex(base, "-")+1:])
		f, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := f.FileTypeName(); got != want {
			t.Errorf("%s: FileTypeName() = %q, want %q", base, got, want)
		}
		f.Close()
	}
}
