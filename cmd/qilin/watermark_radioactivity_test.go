package main

import (
	"encoding/json"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qilin-ai/qilin/engine"
	"github.com/qilin-ai/qilin/internal/testdata"
	"github.com/qilin-ai/qilin/server"
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
// or without our data: the story model itself, continuing its BOS, and
// reading its own marked answers (which it predicts well, and which repeat
// themselves: the windows read before are skipped).
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
		if r.Radioactive || r.Mode != "reading" || r.KeyID != k.ID {
			t.Errorf("%v: %+v; want not radioactive, reading mode, key %s", extra, r, k.ID)
		}
		if extra == nil && (r.Tokens != 3000 || r.Scored < 1000) { // every window of 3000 tokens, less repeats
			t.Errorf("continuing BOS: %d tokens, %d scored; want 3000, >= 1000", r.Tokens, r.Scored)
		}
		// Reading the 10 answers of about 100 tokens: the windows of each
		// past the first 4 tokens, once.
		if extra != nil && (r.Texts != 10 || r.Tokens < 900 || r.Tokens > 1100 || r.Predictions != r.Tokens-4*r.Texts || r.Scored != r.Predictions-r.Excluded || r.Scored < 50) {
			t.Errorf("--data: %+v; want 10 texts of about 100 tokens, each window scored once", r)
		}
	}
	// A reference that is the suspect itself agrees with every prediction:
	// nothing is left to score.
	out, errs, code := runCLI(t, "watermark", "radioactivity", "--key-file", keyFile, "--suspect", model, "--reference", model, "--data", data, "--json")
	var r watermark.RadioResult
	if code != 0 || json.Unmarshal([]byte(out), &r) != nil {
		t.Fatalf("--reference: exit %d: %s %s", code, out, errs)
	}
	if r.Scored != 0 || r.Predictions != 0 || r.PValue != 1 || r.Radioactive {
		t.Errorf("--reference the suspect itself: %+v; want nothing scored, p = 1", r)
	}
	// The weighted test reads the same positions and scores 16 candidates
	// at each: the untrained model is not radioactive either.
	out, errs, code = runCLI(t, "watermark", "radioactivity", "--key-file", keyFile, "--suspect", model, "--weighted", "--data", data, "--json")
	r = watermark.RadioResult{}
	if code != 0 || json.Unmarshal([]byte(out), &r) != nil {
		t.Fatalf("--weighted: exit %d: %s %s", code, out, errs)
	}
	if r.Radioactive || r.Mode != "reading, weighted" || r.Texts != 10 || r.Scored < 50 || r.Scored != r.Predictions-r.Excluded {
		t.Errorf("--weighted: %+v; want not radioactive, every first-read window scored", r)
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
		{[]string{"--key-file", keyFile, "--suspect", "http://127.0.0.1:1/v1#m"}, 2}, // no --model for the tokenizer
		{[]string{"--key-file", keyFile, "--suspect", model, "--tokens", "0"}, 2},
		{[]string{"--key-file", keyFile, "--suspect", model, "--reference", model}, 2}, // no --data
		{[]string{"--key-file", keyFile, "--suspect", model, "--weighted"}, 2},         // no --data
		{[]string{"--key-file", keyFile, "--suspect", model, "--weighted", "--reference", model, "--data", data}, 2},
		{[]string{"--key-file", keyFile, "--suspect", "http://127.0.0.1:1/v1#m", "--model", model, "--reference", model, "--data", data}, 2},
		{[]string{"--key-file", keyFile, "--suspect", model, "--reference", testdata.Path(t, "models", "TinyStories-656K-Q8_0.gguf"), "--data", data}, 1}, // another vocabulary
		{[]string{"--key-file", keyFile, "--suspect", model, "--data", empty}, 1},
		{[]string{"--key-file", keyFile, "--suspect", model, "--data", bad}, 1},
	} {
		if _, errs, code := runCLI(t, append([]string{"watermark", "radioactivity"}, tt.args...)...); code != tt.code || errs == "" {
			t.Errorf("%v: exit %d (%q), want %d with a message", tt.args, code, errs, tt.code)
		}
	}
}

// Closed-model mode: a suspect behind an API (here qilin serve, in process)
// that answers with text marked by the key is found out from its answers;
// the same server without the key is not.
func TestWatermarkRadioactivityRemote(t *testing.T) {
	path := testdata.Path(t, "models", "stories260K.gguf")
	k := seededKey(rand.New(rand.NewPCG(6, 6)), watermark.Gumbel)
	keyFile := writeKeyFile(t, k)
	for _, marked := range []bool{true, false} {
		e, err := engine.Load(path, engine.Options{Context: 512})
		if err != nil {
			t.Fatal(err)
		}
		opts := server.Options{ModelName: "stories", Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Sched: engine.SchedOptions{Slots: 2}}
		if marked {
			opts.Watermark = &k
		}
		srv := server.New(opts)
		if err := srv.Load(e, path); err != nil {
			t.Fatal(err)
		}
		hs := httptest.NewServer(srv)
		out, errs, code := runCLI(t, "watermark", "radioactivity", "--key-file", keyFile, "--suspect", hs.URL+"/v1#stories",
			"--model", path, "--tokens", "1500", "--max-len", "150", "--json")
		hs.Close()
		e.Close()
		if code != 0 {
			t.Fatalf("marked %v: exit %d: %s", marked, code, errs)
		}
		var r watermark.RadioResult
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("bad JSON %q: %v", out, err)
		}
		t.Logf("marked %v: %+v", marked, r)
		if r.Mode != "generation" || r.Radioactive != marked || r.Tokens < 1500 {
			t.Errorf("suspect serving marked text %v: %+v", marked, r)
		}
	}
}
