package hub_test

import (
	"cmp"
	"slices"
	"strings"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/qilin-ai/qilin/internal/hub"
)

var ignoreTimes = gocmp.FilterPath(func(p gocmp.Path) bool {
	f := p.Last().String()
	return f == ".PulledAt" || f == ".LastUsed"
}, gocmp.Ignore())

func TestParseRef(t *testing.T) {
	tests := []struct {
		in      string
		want    hub.Ref
		wantErr string
	}{
		{"hf.co/unsloth/DeepSeek-R1-Distill-Qwen-1.5B-GGUF:Q4_K_M", hub.Ref{Name: "hf.co/unsloth/DeepSeek-R1-Distill-Qwen-1.5B-GGUF:Q4_K_M", Repo: "unsloth/DeepSeek-R1-Distill-Qwen-1.5B-GGUF", Quant: "Q4_K_M"}, ""},
		{"hf.co/Qwen/Qwen2.5-0.5B-Instruct-GGUF", hub.Ref{Name: "hf.co/Qwen/Qwen2.5-0.5B-Instruct-GGUF:Q4_K_M", Repo: "Qwen/Qwen2.5-0.5B-Instruct-GGUF", Quant: "Q4_K_M"}, ""},
		{"huggingface.co/a/b:q8_0", hub.Ref{Name: "hf.co/a/b:Q8_0", Repo: "a/b", Quant: "Q8_0"}, ""},
		{"https://huggingface.co/a/b:latest", hub.Ref{Name: "hf.co/a/b:Q4_K_M", Repo: "a/b", Quant: "Q4_K_M"}, ""},
		{"hf.co/a/b/sub/M-Q6_K.gguf", hub.Ref{Name: "hf.co/a/b/sub/M-Q6_K.gguf", Repo: "a/b", File: "sub/M-Q6_K.gguf"}, ""},
		{"deepseek-r1:1.5b", hub.Ref{Name: "deepseek-r1:1.5b", Repo: "unsloth/DeepSeek-R1-Distill-Qwen-1.5B-GGUF", Quant: "Q4_K_M"}, ""},
		{"DeepSeek-R1:8B", hub.Ref{Name: "deepseek-r1:8b", Repo: "unsloth/DeepSeek-R1-Distill-Llama-8B-GGUF", Quant: "Q4_K_M"}, ""},
		{"qwen2.5:0.5b", hub.Ref{Name: "qwen2.5:0.5b", Repo: "Qwen/Qwen2.5-0.5B-Instruct-GGUF", Quant: "Q4_K_M"}, ""},
		{"qwen3:30b-a3b", hub.Ref{Name: "qwen3:30b-a3b", Repo: "Qwen/Qwen3-30B-A3B-GGUF", Quant: "Q4_K_M"}, ""},
		{"deepseek-r1", hub.Ref{}, "did you mean deepseek-r1:1.5b, deepseek-r1:7b"},
		{"llama9:1b", hub.Ref{}, "qilin list --available"},
		{"hf.co/a", hub.Ref{}, "want hf.co/ORG/REPO"},
		{"hf.co/a/b/c.bin", hub.Ref{}, "not a .gguf file"},
		{"hf.co/a/b/../../x.gguf", hub.Ref{}, "unsafe"},
		{"hf.co/a/../b", hub.Ref{}, "unsafe"},
		{"hf.co/a/b:Q4/x", hub.Ref{}, "unsafe"},
		{"hf.co/a/b:", hub.Ref{Name: "hf.co/a/b:Q4_K_M", Repo: "a/b", Quant: "Q4_K_M"}, ""},
		{"hf.co/a/b:Q4 K", hub.Ref{}, "bad quantization"},
	}
	for _, tt := range tests {
		got, err := hub.ParseRef(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseRef(%q) error %v, want one saying %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseRef(%q): %v", tt.in, err)
			continue
		}
		if diff := gocmp.Diff(tt.want, got); diff != "" {
			t.Errorf("ParseRef(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestShortNamesParse(t *testing.T) {
	seen := map[string]bool{}
	for _, sn := range hub.ShortNames {
		if seen[sn.Name] {
			t.Errorf("short name %q listed twice", sn.Name)
		}
		seen[sn.Name] = true
		r, err := hub.ParseRef(sn.Name)
		if err != nil || r.Name != sn.Name || r.File != "" {
			t.Errorf("short name %q -> %+v, %v", sn.Name, r, err)
		}
	}
	for _, must := range []string{"deepseek-r1:1.5b", "deepseek-r1:7b", "deepseek-r1:8b", "qwen2.5:0.5b", "qwen2.5:1.5b", "qwen3:0.6b", "qwen3:30b-a3b"} {
		if !seen[must] {
			t.Errorf("short name %q missing", must)
		}
	}
}

func TestQuantOf(t *testing.T) {
	tests := map[string]string{
		"DeepSeek-R1-Distill-Qwen-1.5B-Q4_K_M.gguf":      "Q4_K_M",
		"qwen2.5-0.5b-instruct-q4_k_m.gguf":              "Q4_K_M",
		"qwen2.5-7b-instruct-q4_k_m-00001-of-00002.gguf": "Q4_K_M",
		"Qwen3-30B-A3B-UD-Q4_K_XL.gguf":                  "Q4_K_XL",
		"Qwen3-0.6B-BF16.gguf":                           "BF16",
		"model.f16.gguf":                                 "F16",
		"Llama-3.2-1B-Instruct-IQ4_XS.gguf":              "IQ4_XS",
		"Q8_0/Model-Q8_0-00002-of-00003.gguf":            "Q8_0",
		"stories260K.gguf":                               "",
		"Q4_K_M-but-really-Q8_0.gguf":                    "Q8_0",
		"MQ4_K_M.gguf":                                   "",
		"ggml-model-q5_k_s.gguf":                         "Q5_K_S",
		"Meta-Llama-3.1-8B-Instruct-Q4_0_4_4.gguf":       "Q4_0_4_4",
		"Phi-3-mini-4k-instruct-q4.gguf":                 "",
		"DeepSeek-R1-Distill-Llama-8B-Q3_K_L.gguf":       "Q3_K_L",
		"tinyllama-1.1b-chat-v1.0.Q2_K.gguf":             "Q2_K",
	}
	for name, want := range tests {
		if got := hub.QuantOf(name); got != want {
			t.Errorf("QuantOf(%q) = %q, want %q", name, got, want)
		}
	}
}

func files(paths ...string) []hub.File {
	var fs []hub.File
	for _, p := range paths {
		fs = append(fs, hub.File{Path: p, Size: 1})
	}
	return fs
}

func TestPick(t *testing.T) {
	tests := []struct {
		name      string
		files     []hub.File
		want      string
		wantPaths []string
		wantQuant string
		wantErr   string
	}{
		{"exact", files("M-Q8_0.gguf", "M-Q4_K_M.gguf", "README.md"), "Q4_K_M", []string{"M-Q4_K_M.gguf"}, "Q4_K_M", ""},
		{"lower-case file names", files("m-q8_0.gguf", "m-q4_k_m.gguf"), "q8_0", []string{"m-q8_0.gguf"}, "Q8_0", ""},
		{"skips projector", files("mmproj-M-Q4_K_M.gguf", "M-Q4_K_M.gguf"), "Q4_K_M", []string{"M-Q4_K_M.gguf"}, "Q4_K_M", ""},
		// Bits per weight: Q4_K_M 4.57; Q4_K_S 4.36, Q5_K_M 5.32, Q2_K 2.95.
		{"fallback nearest in size", files("M-Q4_K_S.gguf", "M-Q5_K_M.gguf", "M-Q2_K.gguf"), "Q4_K_M", []string{"M-Q4_K_S.gguf"}, "Q4_K_S", ""},
		{"fallback down", files("M-Q8_0.gguf", "M-Q3_K_L.gguf", "M-F16.gguf"), "Q4_K_M", []string{"M-Q3_K_L.gguf"}, "Q3_K_L", ""},
		{"fallback up", files("M-Q8_0.gguf", "M-Q5_K_M.gguf"), "Q6_K", []string{"M-Q5_K_M.gguf"}, "Q5_K_M", ""},
		{"fallback from a request that does not run", files("M-Q4_0.gguf", "M-Q5_K_S.gguf"), "IQ4_XS", []string{"M-Q4_0.gguf"}, "Q4_0", ""},
		{"fallback skips IQ", files("M-IQ4_XS.gguf", "M-Q8_0.gguf"), "Q4_K_M", []string{"M-Q8_0.gguf"}, "Q8_0", ""},
		{"IQ when asked", files("M-IQ4_XS.gguf", "M-Q8_0.gguf"), "IQ4_XS", []string{"M-IQ4_XS.gguf"}, "IQ4_XS", ""},
		{"unknown request falls back from the default", files("M-Q5_K_M.gguf", "M-Q8_0.gguf"), "Q9_X", []string{"M-Q5_K_M.gguf"}, "Q5_K_M", ""},
		{"nearest above", files("M-Q4_0.gguf", "M-Q4_1.gguf"), "Q4_K_L", []string{"M-Q4_1.gguf"}, "Q4_1", ""},
		{"split parts in order", files("Q4_K_M/M-Q4_K_M-00003-of-00003.gguf", "Q4_K_M/M-Q4_K_M-00001-of-00003.gguf", "Q4_K_M/M-Q4_K_M-00002-of-00003.gguf", "M-Q8_0.gguf"), "Q4_K_M",
			[]string{"Q4_K_M/M-Q4_K_M-00001-of-00003.gguf", "Q4_K_M/M-Q4_K_M-00002-of-00003.gguf", "Q4_K_M/M-Q4_K_M-00003-of-00003.gguf"}, "Q4_K_M", ""},
		{"incomplete split skipped", files("M-Q4_K_M-00001-of-00002.gguf", "M-Q5_K_M.gguf"), "Q4_K_M", []string{"M-Q5_K_M.gguf"}, "Q5_K_M", ""},
		{"single unlabeled model", files("stories260K.gguf"), "Q4_K_M", []string{"stories260K.gguf"}, "", ""},
		{"first path on duplicates", files("b/M-Q4_K_M.gguf", "a/M-Q4_K_M.gguf"), "Q4_K_M", []string{"a/M-Q4_K_M.gguf"}, "Q4_K_M", ""},
		{"nothing runnable", files("M-IQ2_XXS.gguf", "M-IQ1_S.gguf"), "Q4_K_M", nil, "", "available: IQ1_S, IQ2_XXS"},
		{"no gguf", files("README.md", "model.safetensors"), "Q4_K_M", nil, "", "no complete GGUF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, quant, err := hub.Pick(tt.files, tt.want)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("Pick error %v, want one saying %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var paths []string
			for _, f := range got {
				paths = append(paths, f.Path)
			}
			if diff := gocmp.Diff(tt.wantPaths, paths); diff != "" {
				t.Errorf("paths (-want +got):\n%s", diff)
			}
			if quant != tt.wantQuant {
				t.Errorf("quant %q, want %q", quant, tt.wantQuant)
			}
		})
	}
}

func TestPickFile(t *testing.T) {
	fs := files("s/M-Q8_0-00002-of-00002.gguf", "s/M-Q8_0-00001-of-00002.gguf", "M-Q4_K_M.gguf", "X-00001-of-00002.gguf")
	got, err := hub.PickFile(fs, "s/M-Q8_0-00002-of-00002.gguf")
	if err != nil {
		t.Fatal(err)
	}
	paths := []string{got[0].Path, got[1].Path}
	if !slices.IsSortedFunc(paths, cmp.Compare) || len(got) != 2 {
		t.Errorf("PickFile of part 2 = %v, want both parts in order", paths)
	}
	if _, err := hub.PickFile(fs, "X-00001-of-00002.gguf"); err == nil || !strings.Contains(err.Error(), "1 of its 2 parts") {
		t.Errorf("PickFile of an incomplete split: %v", err)
	}
	if _, err := hub.PickFile(fs, "nope.gguf"); err == nil || !strings.Contains(err.Error(), "M-Q4_K_M.gguf") {
		t.Errorf("PickFile of a missing file: %v, want a list of files", err)
	}
}
