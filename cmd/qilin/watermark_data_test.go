package main

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/qilin-ai/qilin/watermark"
)

// Our marked outputs are read as the teacher generated them when their
// logprobs name the tokens, and retokenized otherwise. TinyStories-656K's
// tokenizer rewrites redgreen-marked text (the bias favours segmentations
// it would not choose), so the two differ.
func TestMarkedOutputIDs(t *testing.T) {
	g := newStoryGenerator(t, "TinyStories-656K-Q8_0.gguf")
	rng := rand.New(rand.NewPCG(15, 2))
	k := seededKey(rng, watermark.RedGreen)
	toks := g.answer(t, rng, watermark.NewMarker(k), 100)
	output := g.e.Tok.Decode(toks)
	retok, err := g.e.Tok.Encode(output, false, false)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Equal(retok, toks) {
		t.Fatal("the marked answer retokenizes as generated: the test shows nothing")
	}
	var lps []map[string]any
	for _, id := range toks {
		p := g.e.Tok.Piece(id)
		b := make([]int, len(p))
		for i, c := range p {
			b[i] = int(c)
		}
		lps = append(lps, map[string]any{"token": string(p), "bytes": b, "logprob": -1})
	}
	record := func(content string, lps []map[string]any) map[string]any {
		return map[string]any{"prompt_id": "p", "sample": 0, "messages": []map[string]any{
			{"role": "user", "content": "Once upon a time"},
			{"role": "assistant", "content": content, "reasoning_content": ""},
		}, "logprobs": lps}
	}
	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, "samples.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	enc := json.NewEncoder(f)
	for _, r := range []map[string]any{
		record(output, lps),      // as generated
		record(output, lps[:50]), // logprobs that do not spell the output: retokenized
		record(output, nil),      // none: retokenized
	} {
		if err := enc.Encode(r); err != nil {
			t.Fatal(err)
		}
	}
	f.Close()
	texts, starts, generated, err := readMarkedData(dir, g.e)
	if err != nil {
		t.Fatal(err)
	}
	if generated != 1 || len(texts) != 3 {
		t.Fatalf("%d of %d outputs read as generated, want 1 of 3", generated, len(texts))
	}
	for i, want := range [][]int{toks, retok, retok} {
		if got := texts[i][starts[i]:]; !slices.Equal(got, want) {
			t.Errorf("output %d: %d tokens %v..., want %d %v...", i, len(got), got[:min(8, len(got))], len(want), want[:8])
		}
	}
}
