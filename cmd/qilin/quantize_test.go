package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qilin-ai/qilin/gguf"
	"github.com/qilin-ai/qilin/quant"
)

func TestQuantizeCommand(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "f32.gguf")
	if _, stderr, code := runCLI(t, "synth", "tiny-qwen2", src, "--quant", "F32"); code != 0 {
		t.Fatalf("synth: exit %d: %s", code, stderr)
	}
	out := filepath.Join(dir, "q.gguf")
	stdout, stderr, code := runCLI(t, "quantize", src, out, "q4_k_m")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "Q4_K_M") || !strings.Contains(stdout, "Q5_0") {
		t.Errorf("summary %q should name the recipe and the fallback type", stdout)
	}
	f, err := gguf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// 320-wide rows are not whole Q4_K super-blocks: llama.cpp's fallback.
	if w, _ := f.Tensor("blk.0.attn_q.weight"); w.Type != quant.Q5_0 {
		t.Errorf("attn_q is %v, want Q5_0", w.Type)
	}
	if f.FileTypeName() != "Q4_K_M" {
		t.Errorf("file type %q", f.FileTypeName())
	}

	// Bad input: exit status, a message naming the problem, no output file.
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"quantize", out, filepath.Join(dir, "re.gguf"), "Q8_0"}, 1, "--allow-requantize"},
		{[]string{"quantize", src, filepath.Join(dir, "bad.gguf"), "Q4_K_XL"}, 2, "Q4_K_M, Q4_K_S"},
		{[]string{"quantize", src, filepath.Join(dir, "bad.gguf")}, 2, "TYPE"},
		{[]string{"quantize", filepath.Join(dir, "missing.gguf"), filepath.Join(dir, "bad.gguf"), "Q8_0"}, 1, "missing.gguf"},
		{[]string{"quantize", src, src, "Q8_0"}, 2, "is the input"},
		{[]string{"quantize", src, filepath.Join(dir, "no", "such", "dir.gguf"), "Q8_0"}, 1, "no such file"},
	} {
		_, stderr, code := runCLI(t, tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("%q: exit %d, stderr %q; want exit %d mentioning %q", tc.args[1:], code, stderr, tc.code, tc.want)
		}
	}
	for _, name := range []string{"re.gguf", "bad.gguf"} {
		if _, err := os.Stat(filepath.Join(dir, name)); !os.IsNotExist(err) {
			t.Errorf("%s exists after a failed quantize", name)
		}
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.Contains(e.Name(), ".tmp") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
	// With permission, a quantized source converts.
	if _, stderr, code := runCLI(t, "quantize", out, filepath.Join(dir, "re.gguf"), "Q8_0", "--allow-requantize"); code != 0 {
		t.Errorf("--allow-requantize: exit %d: %s", code, stderr)
	}
}
