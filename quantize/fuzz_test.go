package quantize

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/qilin-ai/qilin/gguf"
)

// FuzzFile quantizes whatever gguf.Parse accepts: a hostile file may be
// refused, but must never panic or leave a file behind on error.
func FuzzFile(f *testing.F) {
	for _, d := range []dense{
		{arch: "llama", layers: 1, embd: 64, ff: 64, q: 64, kv: 64, vocb: 4},
		{arch: "qwen3moe", layers: 1, embd: 64, ff: 32, q: 64, kv: 64, vocb: 4, experts: 8},
	} {
		b, err := os.ReadFile(writeModel(f, d, 0))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint8(Q4_K_M))
		f.Add(b[:len(b)/2], uint8(Q8_0))
	}
	f.Fuzz(func(t *testing.T, data []byte, ft uint8) {
		in, err := gguf.Parse(bytes.Clone(data))
		if err != nil {
			return
		}
		dir := t.TempDir()
		out := filepath.Join(dir, "out.gguf")
		_, err = File(context.Background(), in, out, Options{Type: FileType(ft), AllowRequantize: true, Threads: 2})
		if err != nil {
			ents, _ := os.ReadDir(dir)
			if len(ents) != 0 {
				t.Fatalf("error %v left %d files behind", err, len(ents))
			}
			return
		}
		g, err := gguf.Open(out)
		if err != nil {
			t.Fatalf("File wrote a file gguf cannot read: %v", err)
		}
		defer g.Close()
		if len(g.Tensors) != len(in.Tensors) {
			t.Fatalf("%d tensors in, %d out", len(in.Tensors), len(g.Tensors))
		}
	})
}
