package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/qilin-ai/qilin/internal/testdata"
)

func runCLI(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = runMain(context.Background(), args, &out, &errb)
	return out.String(), errb.String(), code
}

func TestRunGreedyStory(t *testing.T) {
	model := testdata.Path(t, "models", "stories260K.gguf")
	var ref struct {
		PromptTokens []int  `json:"prompt_tokens"`
		GreedyTokens []int  `json:"greedy_tokens"`
		GreedyText   string `json:"greedy_text"`
	}
	b, err := os.ReadFile(testdata.Path(t, "refs", "stories260K.p1.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	out, errs, code := runCLI(t, "run", "--model", model, "--prompt", "Once upon a time", "--max-tokens", "48", "--temp", "0", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var got struct {
		PromptTokens []int  `json:"prompt_tokens"`
		Tokens       []int  `json:"tokens"`
		Text         string `json:"text"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("bad JSON %q: %v", out, err)
	}
	if !slices.Equal(got.PromptTokens, ref.PromptTokens) || !slices.Equal(got.Tokens, ref.GreedyTokens) || got.Text != ref.GreedyText {
		t.Errorf("got %+v\nwant prompt %v tokens %v text %q", got, ref.PromptTokens, ref.GreedyTokens, ref.GreedyText)
	}

	// Plain output prints the same text; the model may also be positional.
	out, errs, code = runCLI(t, "run", model, "Once upon a time", "--max-tokens", "48", "--temp", "0")
	if code != 0 || strings.TrimSuffix(out, "\n") != ref.GreedyText {
		t.Errorf("plain run: exit %d, %q (stderr %q), want %q", code, out, errs, ref.GreedyText)
	}
}

func TestLogitsFile(t *testing.T) {
	model := testdata.Path(t, "models", "stories260K.gguf")
	path := filepath.Join(t.TempDir(), "l.f32")
	out, errs, code := runCLI(t, "logits", "--model", model, "--tokens", "1,403,407", "--out", path)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if strings.TrimSpace(out) != "[1,403,407]" {
		t.Errorf("stdout %q, want the token ids as JSON", out)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != 3*512*4 {
		t.Fatalf("logits file has %d bytes, want 3 rows of 512 float32", len(b))
	}
	// Row 2 must agree with llama.cpp's row for the same prefix.
	ref, err := os.ReadFile(testdata.Path(t, "refs", "stories260K.p1.logits.f32"))
	if err != nil {
		t.Fatal(err)
	}
	for i := 2 * 512; i < 3*512; i++ {
		g := math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		w := math.Float32frombits(binary.LittleEndian.Uint32(ref[4*i:]))
		if math.Abs(float64(g-w)) > 1e-4*(1+math.Abs(float64(w))) {
			t.Fatalf("logit %d: %v, reference %v", i, g, w)
		}
	}
}

func TestRunUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"run"},
		{"run", "--model", "/nonexistent.gguf", "--prompt", "x"},
		{"logits", "--prompt", "x"},
		{"run", "--bogus-flag"},
	} {
		_, errs, code := runCLI(t, args...)
		if code == 0 || errs == "" {
			t.Errorf("%v: exit %d, stderr %q; want a failure with a message", args, code, errs)
		}
	}
}
