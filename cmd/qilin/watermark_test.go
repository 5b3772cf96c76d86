package main

import (
	"encoding/hex"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/qilin-ai/qilin/internal/testdata"
	"github.com/qilin-ai/qilin/watermark"
)

func writeKeyFile(t *testing.T, keys ...watermark.Key) string {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "key.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := watermark.WriteKeys(f, keys); err != nil {
		t.Fatal(err)
	}
	return f.Name()
}

func TestWatermarkKeygen(t *testing.T) {
	tests := []struct {
		args    []string
		scheme  watermark.Scheme
		context int
		count   int
	}{
		{nil, watermark.Gumbel, 4, 1},
		{[]string{"--scheme", "redgreen", "--context", "2"}, watermark.RedGreen, 2, 1},
		{[]string{"--count", "3"}, watermark.Gumbel, 4, 3},
	}
	for _, tt := range tests {
		out, errs, code := runCLI(t, append([]string{"watermark", "keygen"}, tt.args...)...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", tt.args, code, errs)
		}
		keys, err := watermark.ParseKeys(strings.NewReader(out))
		if err != nil {
			t.Fatalf("%v: %v", tt.args, err)
		}
		if len(keys) != tt.count || keys[0].Scheme != tt.scheme || keys[0].Context != tt.context {
			t.Errorf("%v: %d keys, first %v; want %d %s keys of context %d", tt.args, len(keys), keys[0], tt.count, tt.scheme, tt.context)
		}
	}
	for _, bad := range [][]string{
		{"--scheme", "blue"}, {"--context", "0"}, {"--context", "99"}, {"--count", "0"},
		{"--count", "2", "--id", "x"}, {"--id", "has space"}, {"extra"},
	} {
		if _, _, code := runCLI(t, append([]string{"watermark", "keygen"}, bad...)...); code != 2 {
			t.Errorf("keygen %v: exit %d, want 2", bad, code)
		}
	}
}

// markedLetters returns text of n letters picked by a Gumbel marker from a
// distribution that changes at every step (a fixed one would make the
// choice a function of the window, and the text would loop). Under
// writeTokenizeVocab's vocabulary each letter is one token (id = byte
// value; no 'h' or 'e', so no merges apply).
func markedLetters(mk *watermark.Marker, n int) string {
	letters := []byte("abcdfgijklmnopqrstuvwxyz")
	ids := make([]int, len(letters))
	weights := make([]float64, len(letters))
	for i, c := range letters {
		ids[i], weights[i] = int(c), 1
	}
	hist := []int{'a', 'b', 'c', 'd'}
	rng := rand.New(rand.NewPCG(uint64(n), 1))
	for len(hist) < n {
		for i := range weights {
			weights[i] = rng.Float64()
		}
		hist = append(hist, int(letters[mk.Choose(hist, ids, weights)]))
	}
	return string(runeBytes(hist))
}

func runeBytes(ids []int) []byte {
	b := make([]byte, len(ids))
	for i, id := range ids {
		b[i] = byte(id)
	}
	return b
}

func TestWatermarkDetectCommand(t *testing.T) {
	model := writeTokenizeVocab(t)
	k, err := watermark.NewKey(watermark.Gumbel, 4)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := watermark.NewKey(watermark.RedGreen, 3)
	keyFile := writeKeyFile(t, other, k)
	text := markedLetters(watermark.NewMarker(k), 300)
	textFile := filepath.Join(t.TempDir(), "text.txt")
	if err := os.WriteFile(textFile, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}

	out, errs, code := runCLI(t, "watermark", "detect", "--key-file", keyFile, "--model", model, "--json", textFile)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var r watermark.Result
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("bad JSON %q: %v", out, err)
	}
	if !r.Detected || r.KeyID != k.ID || r.Tokens != 300 || r.Scored < 290 || r.PValue >= 1e-6 || r.Threshold != 1e-6 {
		t.Errorf("marked text: %+v; want detected with %s, 300 tokens", r, k.ID)
	}

	// The JSON object has exactly the fields of the issue, spans with
	// theirs; an unmarked text gives an empty list of spans, not null.
	checkDetectJSON(t, out, true)
	plainJSON := filepath.Join(t.TempDir(), "plain.txt")
	os.WriteFile(plainJSON, []byte(strings.Repeat("abcdfgijklmnopqrstuvwxyz", 12)), 0o600)
	out, errs, code = runCLI(t, "watermark", "detect", "--key-file", keyFile, "--model", model, "--json", plainJSON)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	checkDetectJSON(t, out, false)

	// Plain output, text from standard input would be the same; an
	// unmarked text is not detected.
	plain := filepath.Join(t.TempDir(), "plain.txt")
	os.WriteFile(plain, []byte(strings.Repeat("abcdfgijklmnopqrstuvwxyz", 12)), 0o600)
	out, errs, code = runCLI(t, "watermark", "detect", "--key-file", keyFile, "--model", model, plain)
	if code != 0 || !strings.Contains(out, "no watermark found") {
		t.Errorf("unmarked text: exit %d, %q %s", code, out, errs)
	}
	out, _, _ = runCLI(t, "watermark", "detect", "--key-file", keyFile, "--model", model, textFile)
	if !strings.Contains(out, "WATERMARKED") || !strings.Contains(out, k.ID) || strings.Contains(out, hex.EncodeToString(k.Secret)) {
		t.Errorf("plain output: %q", out)
	}

	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte(`{"keys":[{"id":"x"}]}`), 0o600)
	for _, args := range [][]string{
		{"--model", model, textFile},                                  // no key file
		{"--key-file", keyFile, textFile},                             // no model
		{"--key-file", keyFile, "--model", model, textFile, textFile}, // two files
		{"--key-file", keyFile, "--model", model, "--threshold", "2", textFile},
	} {
		if _, _, code := runCLI(t, append([]string{"watermark", "detect"}, args...)...); code != 2 {
			t.Errorf("detect %v: exit %d, want 2", args, code)
		}
	}
	for _, args := range [][]string{
		{"--key-file", bad, "--model", model, textFile},
		{"--key-file", filepath.Join(t.TempDir(), "missing.json"), "--model", model, textFile},
		{"--key-file", keyFile, "--model", model, filepath.Join(t.TempDir(), "missing.txt")},
	} {
		if _, errs, code := runCLI(t, append([]string{"watermark", "detect"}, args...)...); code != 1 || errs == "" {
			t.Errorf("detect %v: exit %d (%q), want 1 with a message", args, code, errs)
		}
	}
}

// qilin run --watermark-key-file marks what it samples; the answer detects
// with the key, and a greedy run says it cannot be marked.
func TestRunWatermark(t *testing.T) {
	model := testdata.Path(t, "models", "stories260K.gguf")
	k := seededKey(rand.New(rand.NewPCG(8, 8)), watermark.Gumbel)
	keyFile := writeKeyFile(t, k)
	out, errs, code := runCLI(t, "run", "--model", model, "--prompt", "Once upon a time", "--max-tokens", "150",
		"--temp", "1", "--top-k", "0", "--top-p", "1", "--min-p", "0", "--seed", "3", "--watermark-key-file", keyFile)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	dout, derrs, code := runCLI(t, "watermark", "detect", "--key-file", keyFile, "--model", model, "--json", writeText(t, out))
	var r watermark.Result
	if err := json.Unmarshal([]byte(dout), &r); code != 0 || err != nil || !r.Detected {
		t.Errorf("marked run not detected: exit %d %s %s", code, dout, derrs)
	}
	greedyOut, errs, code := runCLI(t, "run", "--model", model, "--prompt", "Once upon a time", "--max-tokens", "20", "--temp", "0", "--watermark-key-file", keyFile)
	plain, _, _ := runCLI(t, "run", "--model", model, "--prompt", "Once upon a time", "--max-tokens", "20", "--temp", "0")
	if code != 0 || !strings.Contains(errs, "cannot carry a watermark") || greedyOut != plain {
		t.Errorf("greedy run: exit %d, stderr %q, output %q vs %q", code, errs, greedyOut, plain)
	}
	if _, _, code := runCLI(t, "run", "--model", model, "--prompt", "x", "--watermark-key-file", filepath.Join(t.TempDir(), "none.json")); code != 1 {
		t.Errorf("missing key file: exit %d, want 1", code)
	}
}

func writeText(t *testing.T, s string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "text.txt")
	if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// qilin serve --watermark-key-file: a chat answer carries the header and
// the mark.
func TestServeWatermarkFlag(t *testing.T) {
	model := testdata.Path(t, "models", "stories260K.gguf")
	k := seededKey(rand.New(rand.NewPCG(9, 9)), watermark.Gumbel)
	keyFile := writeKeyFile(t, k)
	s := startServe(t, model, "--port", "0", "--watermark-key-file", keyFile)
	defer s.stop(t)
	body := `{"model":"stories260K","messages":[{"role":"user","content":"Tell me a story."}],"max_tokens":150,"temperature":1}`
	resp, err := http.Post(s.base+"/v1/chat/completions", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r struct {
		Choices []struct{ Message struct{ Content string } }
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || len(r.Choices) == 0 {
		t.Fatalf("status %d: %v", resp.StatusCode, err)
	}
	if got := resp.Header.Get("X-Qilin-Watermark"); got != k.ID {
		t.Errorf("X-Qilin-Watermark = %q, want %q", got, k.ID)
	}
	out, _, _ := runCLI(t, "watermark", "detect", "--key-file", keyFile, "--model", model, "--json", writeText(t, r.Choices[0].Message.Content))
	var d watermark.Result
	if err := json.Unmarshal([]byte(out), &d); err != nil || !d.Detected {
		t.Errorf("served answer not detected: %s", out)
	}
	if !strings.Contains(s.errb.String(), k.ID) {
		t.Errorf("serve does not log the marking key id: %s", s.errb.String())
	}
}

// checkDetectJSON checks that out is detect --json's object with exactly
// the fields: {"key_id", "scheme", "tokens", "scored", "score",
// "p_value", "z", "detected", "threshold", "spans": [{"start", "end",
// "p_value"}]}, the default threshold 1e-6, and spans when marked.
func checkDetectJSON(t *testing.T, out string, marked bool) {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("bad JSON %q: %v", out, err)
	}
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	want := []string{"detected", "key_id", "p_value", "scheme", "score", "scored", "spans", "threshold", "tokens", "z"}
	if !slices.Equal(keys, want) {
		t.Errorf("detect --json fields %v, want %v", keys, want)
	}
	if m["threshold"] != 1e-6 || m["detected"] != marked {
		t.Errorf("threshold %v detected %v; want 1e-06 and %v", m["threshold"], m["detected"], marked)
	}
	spans, ok := m["spans"].([]any)
	if !ok || (len(spans) > 0) != marked {
		t.Fatalf("spans %#v: want a list, not empty iff marked", m["spans"])
	}
	for _, sp := range spans {
		o, _ := sp.(map[string]any)
		var ks []string
		for k := range o {
			ks = append(ks, k)
		}
		slices.Sort(ks)
		if !slices.Equal(ks, []string{"end", "p_value", "start"}) {
			t.Errorf("span fields %v, want end, p_value, start", ks)
		}
	}
}
