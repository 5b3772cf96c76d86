package engine

import (
	"math"
	"slices"
	"testing"

	"github.com/qilin-ai/qilin/sample"
	"github.com/qilin-ai/qilin/watermark"
)

func testWatermarkKey(t *testing.T, scheme watermark.Scheme, seed byte) watermark.Key {
	t.Helper()
	secret := make([]byte, 32)
	for i := range secret {
		secret[i] = seed + byte(i)*7
	}
	k := watermark.Key{ID: "engine-test", Scheme: scheme, Secret: secret, Context: watermark.DefaultContext}
	if err := k.Validate(); err != nil {
		t.Fatal(err)
	}
	return k
}

// The Watermark processor marks what the scheduler samples, so that the
// detector finds the key in the output, and leaves greedy requests and the
// reported logprobs as they are.
func TestWatermarkProcessor(t *testing.T) {
	e := loadTest(t, "stories260K.gguf", 256)
	s := newSched(t, e, SchedOptions{Slots: 2})
	starts := []string{"Once upon a time", "One day", "Lily wanted", "The dog", "Tom and Sue", "In the park", "The sun was", "Mom said"}
	for _, scheme := range []watermark.Scheme{watermark.Gumbel, watermark.RedGreen} {
		k := testWatermarkKey(t, scheme, 1)
		marked, plain := 0, 0
		for i, text := range starts {
			prompt := encode(t, e, text)
			req := Request{Prompt: prompt, MaxTokens: 150, Sample: sample.Params{Temperature: 1, Seed: uint64(i + 1)}}
			plainToks, _, _, _ := collect(mustSubmit(t, s, req))
			req.Processors = []Processor{Watermark(k)}
			toks, _, _, res := collect(mustSubmit(t, s, req))
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			if r := watermark.Detect(toks, []watermark.Key{k}, watermark.Options{}); r.Detected {
				marked++
			}
			if r := watermark.Detect(plainToks, []watermark.Key{k}, watermark.Options{}); r.Detected {
				plain++
			}
		}
		t.Logf("%s: %d/%d marked outputs detected, %d unmarked", scheme, marked, len(starts), plain)
		if want := len(starts) - 1; marked < want || plain > 0 {
			t.Errorf("%s: %d/%d marked outputs detected (want >= %d), %d unmarked ones (want 0)", scheme, marked, len(starts), want, plain)
		}

		// Greedy decoding cannot carry the mark and is left unchanged.
		prompt := encode(t, e, starts[0])
		greedy, _, _, _ := collect(mustSubmit(t, s, Request{Prompt: prompt, MaxTokens: 20, Processors: []Processor{Watermark(k)}}))
		if want := alone(t, e, prompt, 20); !slices.Equal(greedy, want) {
			t.Errorf("%s: greedy output with the watermark %v, without %v", scheme, greedy, want)
		}

		// Logprobs are the model's, before the watermark.
		var raw []float32
		if err := e.NewSequence().Eval(prompt, false, func(_ int, l []float32) { raw = slices.Clone(l) }); err != nil {
			t.Fatal(err)
		}
		_, _, evs, _ := collect(mustSubmit(t, s, Request{Prompt: prompt, MaxTokens: 1, Logprobs: true,
			Sample: sample.Params{Temperature: 1, Seed: 9}, Processors: []Processor{Watermark(k)}}))
		if want := sample.Logprob(raw, evs[0].Token); math.Abs(float64(evs[0].Logprob-want)) > 1e-5 {
			t.Errorf("%s: logprob %v, want the model's %v (tolerance 1e-5)", scheme, evs[0].Logprob, want)
		}
	}
}
