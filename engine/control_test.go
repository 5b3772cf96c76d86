package engine

import (
	"context"
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/qilin-ai/qilin/sample"
)

// biasProc adds by to the logit of tok.
type biasProc struct {
	tok int
	by  float32
}

func (b biasProc) Process(st *Step) error {
	st.Logits[b.tok] += b.by
	return nil
}

// leastLikely is a Drawer that takes the least likely candidate and counts
// its calls.
type leastLikely struct {
	calls  int
	greedy []bool // Step.Greedy at each Process
}

func (d *leastLikely) Process(st *Step) error {
	if len(d.greedy) < cap(d.greedy) {
		d.greedy = append(d.greedy, st.Greedy())
	}
	return nil
}

func (d *leastLikely) Draw(st *Step, dist []sample.TokenProb) int {
	d.calls++
	lo := dist[0]
	for _, x := range dist {
		if x.Prob < lo.Prob || (x.Prob == lo.Prob && x.ID < lo.ID) {
			lo = x
		}
	}
	return lo.ID
}

// allowOnly masks every token but allowed.
type allowOnly struct{ allowed []int }

func (a allowOnly) Process(st *Step) error {
	bits := make([]uint64, (len(st.Logits)+63)/64)
	for _, t := range a.allowed {
		bits[t/64] |= 1 << (t % 64)
	}
	st.Mask(bits)
	return nil
}

// TestProcessorsSteer: a mask keeps every sampled token in its set, at any
// temperature; the processors see the prompt and the output so far; a
// Drawer replaces the draw but not a greedy choice; a processor's error
// ends the request.
func TestProcessorsSteer(t *testing.T) {
	e := loadTest(t, "stories260K.gguf", 256)
	s := newSched(t, e, SchedOptions{Slots: 2})
	prompt := encode(t, e, "Once upon a time")
	allowed := []int{20, 77, 300, 301, 450}
	for _, temp := range []float32{0, 1, 2} {
		st, err := s.Submit(context.Background(), Request{Prompt: prompt, MaxTokens: 30,
			Sample: sample.Params{Temperature: temp, Seed: 3}, Processors: []Processor{allowOnly{allowed}}})
		if err != nil {
			t.Fatal(err)
		}
		toks, _, _, res := collect(st)
		if len(toks) != 30 || res.Reason != StopLength {
			t.Errorf("temperature %v: %d tokens, %q", temp, len(toks), res.Reason)
		}
		for _, tok := range toks {
			if !slices.Contains(allowed, tok) {
				t.Errorf("temperature %v: token %d outside the mask %v", temp, tok, allowed)
			}
		}
	}

	// The view: prompt, output so far, phase.
	var seen [][]int
	view := ProcessorFunc(func(st *Step) error {
		if !slices.Equal(st.Prompt, prompt) || st.Phase != PhaseAnswer || st.AnswerStart != 0 {
			t.Errorf("step view: prompt %v phase %v answer start %d", st.Prompt, st.Phase, st.AnswerStart)
		}
		seen = append(seen, slices.Clone(st.Output))
		return nil
	})
	st, _ := s.Submit(context.Background(), Request{Prompt: prompt, MaxTokens: 5, Processors: []Processor{view}})
	toks, _, _, _ := collect(st)
	for i, out := range seen {
		if !slices.Equal(out, toks[:i]) {
			t.Errorf("position %d: the processor saw output %v, want %v", i, out, toks[:i])
		}
	}

	// A Drawer: called for sampled tokens only, never when greedy.
	d := &leastLikely{greedy: make([]bool, 0, 1)}
	st, _ = s.Submit(context.Background(), Request{Prompt: prompt, MaxTokens: 10,
		Sample: sample.Params{Temperature: 1, TopK: 5, Seed: 1}, Processors: []Processor{d}})
	drawn, _, _, _ := collect(st)
	if d.calls != len(drawn) || d.greedy[0] {
		t.Errorf("drawer: %d calls for %d tokens, greedy %v", d.calls, len(drawn), d.greedy)
	}
	plain, _, _, _ := collect(mustSubmit(t, s, Request{Prompt: prompt, MaxTokens: 10, Sample: sample.Params{Temperature: 1, TopK: 5, Seed: 1}}))
	if slices.Equal(plain, drawn) {
		t.Errorf("the least-likely drawer drew what the random draw did: %v", drawn)
	}
	g := &leastLikely{greedy: make([]bool, 0, 1)}
	greedy, _, _, _ := collect(mustSubmit(t, s, Request{Prompt: prompt, MaxTokens: 10, Processors: []Processor{g}}))
	if g.calls != 0 || !g.greedy[0] || !slices.Equal(greedy, alone(t, e, prompt, 10)) {
		t.Errorf("greedy with a drawer: %d calls, greedy %v, tokens %v", g.calls, g.greedy, greedy)
	}

	// An error ends the request with it.
	boom := errors.New("boom")
	n := 0
	fail := ProcessorFunc(func(st *Step) error {
		if n++; n == 3 {
			return boom
		}
		return nil
	})
	toks, _, _, res := collect(mustSubmit(t, s, Request{Prompt: prompt, MaxTokens: 10, Processors: []Processor{fail}}))
	if !errors.Is(res.Err, boom) || len(toks) != 2 || res.Reason != "" {
		t.Errorf("failing processor: err %v after %d tokens, reason %q", res.Err, len(toks), res.Reason)
	}
}

func mustSubmit(t *testing.T, s *Scheduler, req Request) *Stream {
	t.Helper()
	st, err := s.Submit(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestLogprobsBeforeProcessors: the log-probabilities reported are the
// model's own, whatever a processor did to the logits (a watermark's bias
// must not show in them).
func TestLogprobsBeforeProcessors(t *testing.T) {
	e := loadTest(t, "stories260K.gguf", 256)
	s := newSched(t, e, SchedOptions{Slots: 1})
	prompt := encode(t, e, "Once upon a time")
	const tok = 77
	var raw []float32
	if err := e.NewSequence().Eval(prompt, false, func(_ int, l []float32) { raw = slices.Clone(l) }); err != nil {
		t.Fatal(err)
	}
	st := mustSubmit(t, s, Request{Prompt: prompt, MaxTokens: 1, Logprobs: true, TopLogprobs: 3,
		Processors: []Processor{biasProc{tok: tok, by: 100}}})
	_, _, evs, _ := collect(st)
	if evs[0].Token != tok {
		t.Fatalf("the +100 bias did not pick token %d: got %d", tok, evs[0].Token)
	}
	want := sample.Logprob(raw, tok)
	if math.Abs(float64(evs[0].Logprob-want)) > 1e-5 || evs[0].Logprob > -0.5 {
		t.Errorf("logprob %v, want the unbiased %v (tolerance 1e-5)", evs[0].Logprob, want)
	}
	if diff := cmp.Diff(sample.TopLogprobs(raw, 3, nil), evs[0].Top); diff != "" {
		t.Errorf("top logprobs changed by the bias (-raw +got):\n%s", diff)
	}
}

// TestMaskBits checks Mask on a vocabulary that is not a multiple of 64.
func TestMaskBits(t *testing.T) {
	logits := make([]float32, 130)
	bits := []uint64{^uint64(0), 1<<3 | 1<<63} // word 2 missing: removed
	st := &Step{Logits: logits}
	st.Mask(bits)
	var kept []int
	for i, l := range logits {
		if !math.IsInf(float64(l), -1) {
			kept = append(kept, i)
		}
	}
	want := append(seq(0, 64), 67, 127)
	if diff := cmp.Diff(want, kept); diff != "" {
		t.Errorf("kept tokens (-want +got):\n%s", diff)
	}
}

func seq(lo, hi int) []int {
	var s []int
	for i := lo; i < hi; i++ {
		s = append(s, i)
	}
	return s
}
