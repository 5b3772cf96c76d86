package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qilin-ai/qilin/gguf"
)

func TestSynthCommand(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "tiny.gguf")
	stdout, stderr, code := runCLI(t, "synth", "tiny-qwen2", out, "--quant", "q8_0", "--seed", "3")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "tiny-qwen2 Q8_0") {
		t.Errorf("stdout %q should name the shape and type", stdout)
	}
	f, err := gguf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := f.FileTypeName(); got != "Q8_0" {
		t.Errorf("file type %q, want Q8_0", got)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"synth", "gpt-5", filepath.Join(dir, "x.gguf")}, "qwen2.5-0.5b"},
		{[]string{"synth", "tiny-qwen2", filepath.Join(dir, "x.gguf"), "--quant", "Q9_K"}, "Q4_K_M"},
		{[]string{"synth", "tiny-qwen2"}, "OUT.gguf"},
	} {
		_, stderr, code := runCLI(t, tc.args...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%q: exit %d, stderr %q; want exit 2 mentioning %q", tc.args, code, stderr, tc.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "x.gguf")); !os.IsNotExist(err) {
		t.Errorf("a failed synth left x.gguf behind (%v)", err)
	}
	stdout, _, code = runCLI(t, "synth", "--list")
	if code != 0 || !strings.Contains(stdout, "qwen3-30b-a3b") || !strings.Contains(stdout, "Qwen/Qwen3-30B-A3B") {
		t.Errorf("--list: exit %d, %q", code, stdout)
	}
}
