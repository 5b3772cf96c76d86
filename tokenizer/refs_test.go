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
// testdata/refs and testdata/next/refs (add_special is the flag llama.cpp was called with; BOS
// then follows the model's metadata), that decoding the greedy
// continuation gives llama.cpp's bytes, and that IsEOG agrees with where
// llama.cpp stopped: no end-of-generation token inside a continuation, and
// one at the end of a continuation shorter than others for the same prompt.
func TestRefsPromptTokens(t *testing.T) {
	dir := testdata.Dir(t)
	refs, err := filepath.Glob(filepath.Join(dir, "refs", "*.json"))
	if err != nil || len(refs) == 0 {
		t.Fatalf("no references in %s (%v)", dir, err)
	}
	// The references of work in progress (next/) hold their models beside
	// them; every pre-tokenizer they use is supported here.
	next, err := filepath.Glob(filepath.Join(dir, "next", "refs", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	refs = append(refs, next...)
	toks := map[string]*Tokenizer{}
	type greedy struct {
		name, prompt string
		tok          *Tokenizer
		ids          []int
	}
	var runs []greedy
	longest := map[string]int{} // prompt -> longest continuation
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
			// refs/x.json -> models/<model>, next/refs/x.json -> next/models/<model>
			tok = loadTokenizer(t, filepath.Join(filepath.Dir(filepath.Dir(path)), "models", ref.Model))
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
		runs = append(runs, greedy{name, ref.Prompt, tok, ref.GreedyTokens})
		longest[ref.Prompt] = max(longest[ref.Prompt], len(ref.GreedyTokens))
		for _, id := range ref.GreedyTokens[:max(len(ref.GreedyTokens)-1, 0)] {
			if tok.IsEOG(id) {
				t.Errorf("%s: IsEOG(%d %q) inside the continuation", name, id, tok.TokenText(id))
			}
		}
	}
	stopped := 0
	for _, r := range runs {
		if len(r.ids) == 0 || len(r.ids) == longest[r.prompt] {
			continue
		}
		stopped++
		if last := r.ids[len(r.ids)-1]; !r.tok.IsEOG(last) {
			t.Errorf("%s: continuation stops early at %d %q, which IsEOG does not report", r.name, last, r.tok.TokenText(last))
		}
	}
	t.Logf("%d continuations stopped at an end-of-generation token", stopped)
}
