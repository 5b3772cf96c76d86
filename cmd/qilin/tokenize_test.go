package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/qilin-ai/qilin/gguf"
	"github.com/qilin-ai/qilin/internal/testdata"
)

// writeTokenizeVocab writes a byte-level BPE vocabulary: the 256 bytes
// spelled in the GPT-2 byte alphabet (token id = byte value), "he", "hel", "hell",
// "hello", then <|im_start|> (control) at id 260.
func writeTokenizeVocab(t *testing.T) string {
	t.Helper()
	var tokens []string
	n := 0
	for b := 0; b < 256; b++ {
		if (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF) {
			tokens = append(tokens, string(rune(b)))
		} else {
			tokens = append(tokens, string(rune(256+n)))
			n++
		}
	}
	tokens = append(tokens, "he", "hel", "hell", "hello", "<|im_start|>")
	types := make([]int32, len(tokens))
	for i := range types {
		types[i] = 1
	}
	types[260] = 3
	w := gguf.NewWriter()
	w.SetKV("general.architecture", "qwen2")
	w.SetKV("tokenizer.ggml.model", "gpt2")
	w.SetKV("tokenizer.ggml.pre", "qwen2")
	w.SetKV("tokenizer.ggml.tokens", tokens)
	w.SetKV("tokenizer.ggml.token_type", types)
	w.SetKV("tokenizer.ggml.merges", []string{"h e", "he l", "hel l", "hell o"})
	w.SetKV("tokenizer.ggml.bos_token_id", uint32(260))
	w.SetKV("tokenizer.ggml.add_bos_token", true)
	path := filepath.Join(t.TempDir(), "vocab.gguf")
	if err := w.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	return path
}

func runTokenizeCmd(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := runMain(context.Background(), append([]string{"tokenize"}, args...), &out, &errb)
	return out.String(), errb.String(), code
}

func TestTokenizeCommand(t *testing.T) {
	model := writeTokenizeVocab(t)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"plain", []string{"--model", model, "hello!"}, "259 33\n"},
		{"special stays text", []string{"--model", model, "<|im_start|>"}, "60 124 105 109 95 115 116 97 114 116 124 62\n"},
		{"parse special", []string{"--model", model, "--parse-special", "<|im_start|>hello"}, "260 259\n"},
		{"add special", []string{"--model", model, "--add-special", "hello"}, "260 259\n"},
		{"flags after text", []string{"hello", "--model", model, "--add-special"}, "260 259\n"},
		{"empty text", []string{"--model", model, ""}, "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := runTokenizeCmd(t, tt.args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			if out != tt.want {
				t.Errorf("output %q, want %q", out, tt.want)
			}
		})
	}

	out, errOut, code := runTokenizeCmd(t, "--model", model, "--json", "hello é")
	if code != 0 {
		t.Fatalf("--json: exit %d: %s", code, errOut)
	}
	var got struct {
		IDs    []int    `json:"ids"`
		Pieces []string `json:"pieces"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("--json output %q: %v", out, err)
	}
	if diff := cmp.Diff([]int{259, 32, 195, 169}, got.IDs); diff != "" {
		t.Errorf("--json ids (-want +got):\n%s", diff)
	}
	// é is two byte tokens; each piece alone is not valid UTF-8.
	if diff := cmp.Diff([]string{"hello", " ", "\ufffd", "\ufffd"}, got.Pieces); diff != "" {
		t.Errorf("--json pieces (-want +got):\n%s", diff)
	}
}

func TestTokenizeCommandErrors(t *testing.T) {
	model := writeTokenizeVocab(t)
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"three arguments", []string{"m.gguf", "a", "b"}, 2, "exactly one TEXT"},
		{"no text", []string{"--model", model}, 2, "exactly one TEXT"},
		{"two texts", []string{"--model", model, "a", "b"}, 2, "exactly one TEXT"},
		{"missing file", []string{"--model", filepath.Join(t.TempDir(), "nope.gguf"), "a"}, 1, "nope.gguf"},
		{"not gguf", []string{"--model", writeTokenizeFile(t, "x.gguf", "not a gguf file"), "a"}, 1, "x.gguf"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errOut, code := runTokenizeCmd(t, tt.args...)
			if code != tt.code || !strings.Contains(errOut, tt.want) {
				t.Errorf("exit %d, stderr %q; want exit %d mentioning %q", code, errOut, tt.code, tt.want)
			}
		})
	}
}

func writeTokenizeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestTokenizeCommandRefs checks the command against llama.cpp's prompt
// tokens for a real model file.
func TestTokenizeCommandRefs(t *testing.T) {
	for _, name := range []string{"syn-qwen2-q8_0", "stories260K.p1"} {
		var ref struct {
			Model        string `json:"model"`
			Prompt       string `json:"prompt"`
			AddSpecial   bool   `json:"add_special"`
			PromptTokens []int  `json:"prompt_tokens"`
		}
		data, err := os.ReadFile(testdata.Path(t, "refs", name+".json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, &ref); err != nil {
			t.Fatal(err)
		}
		args := []string{"--model", testdata.Path(t, "models", ref.Model), ref.Prompt}
		if ref.AddSpecial {
			args = append(args, "--add-special")
		}
		out, errOut, code := runTokenizeCmd(t, args...)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", name, code, errOut)
		}
		var want []string
		for _, id := range ref.PromptTokens {
			want = append(want, strconv.Itoa(id))
		}
		if out != strings.Join(want, " ")+"\n" {
			t.Errorf("%s: output %q, want %q", name, out, strings.Join(want, " "))
		}
	}
}
