package hub_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/qilin-ai/qilin/internal/hub"
)

func FuzzParseRef(f *testing.F) {
	for _, s := range []string{
		"hf.co/unsloth/DeepSeek-R1-Distill-Qwen-1.5B-GGUF:Q4_K_M", "hf.co/a/b", "huggingface.co/a/b:latest",
		"hf.co/a/b/sub/x.gguf", "deepseek-r1:1.5b", "hf.co/a/../x", "hf.co/a/b/../../x.gguf", "hf.co/a/b:Q4/x",
		"https://hf.co/a/b:", "hf.co//b", "hf.co/a/b/c\\d.gguf", "qwen3",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := hub.ParseRef(s)
		if err != nil {
			return
		}
		// A parsed reference is safe to use and canonical: its name parses
		// to itself.
		if strings.Contains(r.Repo, "..") || slices.Contains(strings.Split(r.File, "/"), "..") {
			t.Fatalf("ParseRef(%q) = %+v: path escape", s, r)
		}
		if strings.ContainsAny(r.File, "\\\x00") || strings.HasPrefix(r.File, "/") {
			t.Fatalf("ParseRef(%q) = %+v: unsafe file", s, r)
		}
		again, err := hub.ParseRef(r.Name)
		if err != nil || again != r {
			t.Fatalf("ParseRef(%q) = %+v, but its name parses to %+v, %v", s, r, again, err)
		}
	})
}

func FuzzQuantOf(f *testing.F) {
	for _, s := range []string{"Qwen3-0.6B-BF16.gguf", "m-q4_k_m-00001-of-00002.gguf", "Q4_K_XL", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q := hub.QuantOf(s)
		if q != "" && !slices.ContainsFunc(hub.Quants, func(x hub.Quant) bool { return x.Label == q }) {
			t.Fatalf("QuantOf(%q) = %q, not a known label", s, q)
		}
		if q != "" && !strings.Contains(strings.ToUpper(s), q) {
			t.Fatalf("QuantOf(%q) = %q, not in the name", s, q)
		}
	})
}
