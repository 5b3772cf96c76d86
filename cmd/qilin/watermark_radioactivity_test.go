package main

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qilin-ai/qilin/internal/testdata"
	"github.com/qilin-ai/qilin/watermark"
)

// writeCollected writes answers as distill collect's samples.jsonl records.
func writeCollected(t *testing.T, prompt string, answers []string) string {
	t.Helper()
	dir := t.TempDir()
	var sb strings.Builder
	for i, a := range answers {
		rec := map[string]any{"prompt_id": "p", "sample": i, "messages": []map[string]any{
			{"role": "user", "content": prompt}, {"role": "assistant", "content": a},
		}}
		b, _ := json.Marshal(rec)
		sb.Write(append(b, '\n'))
	}
	if err := os.WriteFile(filepath.Join(dir, "samples.jsonl"), []byte(sb.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// A model that was not trained on the key's text is not radioactive, with
// or without our data: the story model itself, reading its own marked
// answers' prompts.
func TestWatermarkRadioactivityCommand(t *testing.T) {
	model := testdata.Path(t, "models", "stories260K.gguf")
	g := newStoryGenerator(t, "stories260K.gguf")
	rng := rand.New(rand.NewPCG(5, 5))
	k := seededKey(rng, watermark.Gumbel)
	var answers []string
	for range 10 {
		answers = append(answers, g.e.Tok.Decode(g.answer(t, rng, watermark.NewMarker(k), 100)))
	}
	data := writeCollected(t, "Once upon a time", answers)
	keyFile := writeKeyFile(t, k)
	for _, extra := range [][]string{nil, {"--data", data}} {
		args := append([]string{"watermark", "radioactivity", "--key-file", keyFile, "--suspect", model, "--tokens", "3000", "--json"}, extra...)
		out, errs, code := runCLI(t, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", extra, code, errs)
		}
		var r watermark.RadioResult
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("bad JSON %q: %v", out, err)
		}
		t.Logf("%v: %+v", extra, r)
		if r.Radioactive || r.Tokens != 3000 || r.Scored < 50 || r.Mode != "reading" || r.KeyID != k.ID {
			t.Errorf("%v: %+v; want not radioactive, 3000 tokens, >= 50 scored", extra, r)
		}
		if extra != nil && r.Predictions >= 3000-4*r.Texts {
			t.Errorf("--data did not restrict the windows: %d predictions", r.Predictions)
		}
	}
	empty := t.TempDir()
	bad := t.TempDir()
	os.WriteFile(filepath.Join(bad, "x.jsonl"), []byte("{not json\n"), 0o600)
	for _, tt := range []struct {
		args []string
		code int
	}{
		{[]string{"--suspect", model}, 2},
		{[]string{"--key-file", keyFile}, 2},
		{[]string{"--key-file", keyFile, "--suspect", "http://x/v1#m"}, 2},
		{[]string{"--key-file", keyFile, "--suspect", model, "--tokens", "0"}, 2},
		{[]string{"--key-file", keyFile, "--suspect", model, "--data", empty}, 1},
		{[]string{"--key-file", keyFile, "--suspect", model, "--data", bad}, 1},
	} {
		if _, errs, code := runCLI(t, append([]string{"watermark", "radioactivity"}, tt.args...)...); code != tt.code || errs == "" {
			t.Errorf("%v: exit %d (%q), want %d with a message", tt.args, code, errs, tt.code)
		}
	}
}
