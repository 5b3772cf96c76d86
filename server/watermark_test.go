package server

import (
	"encoding/json"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/qilin-ai/qilin/watermark"
)

// With a watermark key every route marks its sampled answers and says so;
// greedy answers are unmarked and say why.
func TestServeWatermark(t *testing.T) {
	k := watermark.Key{ID: "srv-key", Scheme: watermark.Gumbel, Secret: []byte("0123456789abcdef0123456789abcdef"), Context: watermark.DefaultContext}
	if err := k.Validate(); err != nil {
		t.Fatal(err)
	}
	ts := startServer(t, modelStories, Options{Watermark: &k})
	e, _ := testEngine(t, modelStories)
	detect := func(text string) watermark.Result {
		ids, err := e.Tok.Encode(text, false, false)
		if err != nil {
			t.Fatal(err)
		}
		return watermark.Detect(ids, []watermark.Key{k}, watermark.Options{})
	}
	routes := []struct {
		path, body string
		text       func(body []byte) string
	}{
		{"/v1/completions", `{"prompt":"Once upon a time","max_tokens":150,"temperature":1,"seed":PSEED}`, func(b []byte) string {
			var r struct{ Choices []struct{ Text string } }
			json.Unmarshal(b, &r)
			return r.Choices[0].Text
		}},
		{"/api/generate", `{"model":"test-model","prompt":"One day","stream":false,"raw":true,"options":{"num_predict":150,"temperature":1,"top_k":0,"top_p":1,"min_p":0,"seed":PSEED}}`, func(b []byte) string {
			var r struct{ Response string }
			json.Unmarshal(b, &r)
			return r.Response
		}},
	}
	for _, rt := range routes {
		hits := 0
		const n = 4
		for i := range n {
			body := strings.ReplaceAll(rt.body, "PSEED", string(rune('1'+i)))
			// Vary the prompt too: a Gumbel mark is a function of the prompt.
			body = strings.Replace(body, `"prompt":"`, `"prompt":"`+strings.Repeat("The ", i), 1)
			code, hdr, b := ts.post(t, rt.path, body)
			if code != 200 {
				t.Fatalf("%s: %d %s", rt.path, code, b)
			}
			if got := hdr.Get(WatermarkHeader); got != k.ID {
				t.Errorf("%s: %s = %q, want %q", rt.path, WatermarkHeader, got, k.ID)
			}
			if r := detect(rt.text(b)); r.Detected {
				hits++
			} else {
				t.Logf("%s: not detected: %+v", rt.path, r)
			}
		}
		if hits < n-1 {
			t.Errorf("%s: %d/%d answers detected", rt.path, hits, n)
		}
	}

	// Greedy: no mark, and the headers say so.
	code, hdr, b := ts.post(t, "/v1/completions", `{"prompt":"Once upon a time","max_tokens":20,"temperature":0}`)
	if code != 200 || hdr.Get(WatermarkHeader) != "none" || !strings.Contains(hdr.Get(WatermarkNoteHeader), "greedy") {
		t.Errorf("greedy: %d, headers %v, %s", code, hdr, b)
	}

	// Logprobs are the model's own, before the watermark (a redgreen key
	// biases the logits).
	rg := k
	rg.ID, rg.Scheme = "srv-rg", watermark.RedGreen
	if err := rg.Validate(); err != nil {
		t.Fatal(err)
	}
	ts = startServer(t, modelStories, Options{Watermark: &rg})
	code, hdr, b = ts.post(t, "/v1/completions", `{"prompt":"Once upon a time","max_tokens":1,"temperature":1,"seed":5,"logprobs":1}`)
	var r struct {
		Choices []struct {
			Logprobs struct {
				Tokens        []string
				TokenLogprobs []float64 `json:"token_logprobs"`
			}
		}
	}
	if err := json.Unmarshal(b, &r); err != nil || code != 200 || hdr.Get(WatermarkHeader) != rg.ID || len(r.Choices) == 0 || len(r.Choices[0].Logprobs.TokenLogprobs) != 1 {
		t.Fatalf("logprobs: %d %s (%v)", code, b, err)
	}
	prompt, _ := e.Tok.Encode("Once upon a time", true, false)
	var raw []float32
	if err := e.NewSequence().Eval(prompt, false, func(_ int, l []float32) { raw = slices.Clone(l) }); err != nil {
		t.Fatal(err)
	}
	// The token's id: the likeliest vocabulary entry whose piece is the
	// token text (several, such as byte tokens, may spell it).
	tok := -1
	for id := range e.Model.NVocab {
		if string(e.Tok.Piece(id)) == r.Choices[0].Logprobs.Tokens[0] && (tok < 0 || raw[id] > raw[tok]) {
			tok = id
		}
	}
	if tok < 0 {
		t.Fatalf("token %q not in the vocabulary", r.Choices[0].Logprobs.Tokens[0])
	}
	if want := logprobOf(raw, tok); math.Abs(r.Choices[0].Logprobs.TokenLogprobs[0]-want) > 1e-4 {
		t.Errorf("logprob %v, want the model's %v (tolerance 1e-4)", r.Choices[0].Logprobs.TokenLogprobs[0], want)
	}
}

// logprobOf is log softmax(logits)[tok], a plain reference.
func logprobOf(logits []float32, tok int) float64 {
	m := math.Inf(-1)
	for _, l := range logits {
		m = math.Max(m, float64(l))
	}
	var s float64
	for _, l := range logits {
		s += math.Exp(float64(l) - m)
	}
	return float64(logits[tok]) - m - math.Log(s)
}
