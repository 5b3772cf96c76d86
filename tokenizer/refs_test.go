package tokenizer

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/qilin-ai/qilin/internal/testdata"
)

// TestRefsPromptTokens checks the prompt tokens of every reference in
// testdata/refs (add_special is the flag llama.cpp was called with; BOS
// then follows the model's metadata), and that decoding the greedy continuation gives llama.cpp's
// bytes.
func TestRefsPromptTokens(t *testing.T) {
	dir := testdata.Dir(t)
	refs, err := filepath.Glob(filepath.Join(dir, "refs", "*.json"))
	if err != nil || len(refs) == 0 {
		t.Fatalf("no references in %s (%v)", dir, err)
	}
	toks := map[string]*Tokenizer{}
	for _, path := range refs {
		var ref struct {
			Model         string `json:"model"`
			Prompt        string `json:"prompt"`
			AddSpecial    bool   `json:"add_special"`
			PromptTokens  []int  `json:"prompt_tokens"`
			GreedyTokens  []int  `json:"greedy_tokens"`
			GreedyTextHex string `json:"greedy_text_hex"`
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, &ref); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		tok := toks[ref.Model]
		if tok == nil {
			tok = loadTokenizer(t, filepath.Join(dir, "models", ref.Model))
			toks[ref.Model] = tok
		}
		name := filepath.Base(path)
		got, err := tok.Encode(ref.Prompt, ref.AddSpecial, false)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if diff := cmp.Diff(ref.PromptTokens, got); diff != "" {
			t.Errorf("%s: Encode(%q, %v) (-want +got):\n%s", name, ref.Prompt, ref.AddSpecial, diff)
		}
		want, err := hex.DecodeString(ref.GreedyTextHex)
		if err != nil {
			t.Fatalf("%s: greedy_text_hex: %v", name, err)
		}
		if got := tok.Decode(ref.GreedyTokens); got != string(want) {
			t.Errorf("%s: Decode(greedy_tokens) = %q, want %q", name, got, want)
		}
	}
}
