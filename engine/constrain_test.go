package engine

import (
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/qilin-ai/qilin/sample"
)

// literal is a Matcher whose grammar is one of a few fixed token
// sequences.
type literal struct {
	alts [][]int
	pos  int
	live []bool // which alternatives still match
}

func newLiteral(alts ...[]int) *literal {
	l := &literal{alts: alts, live: make([]bool, len(alts))}
	for i := range l.live {
		l.live[i] = true
	}
	return l
}

func (l *literal) Mask(allowed []uint64) {
	for i, a := range l.alts {
		if l.live[i] && l.pos < len(a) {
			allowed[a[l.pos]/64] |= 1 << (a[l.pos] % 64)
		}
	}
}

func (l *literal) Accept(tok int) error {
	ok := false
	for i, a := range l.alts {
		l.live[i] = l.live[i] && l.pos < len(a) && a[l.pos] == tok
		ok = ok || l.live[i]
	}
	if !ok {
		return fmt.Errorf("token %d not accepted at %d", tok, l.pos)
	}
	l.pos++
	return nil
}

func (l *literal) Allows(tok int) bool {
	for i, a := range l.alts {
		if l.live[i] && l.pos < len(a) && a[l.pos] == tok {
			return true
		}
	}
	return false
}

func (l *literal) CanEnd() bool {
	for i, a := range l.alts {
		if l.live[i] && l.pos == len(a) {
			return true
		}
	}
	return false
}

// TestConstrain: a random-weight model follows the grammar exactly at
// every temperature, ends where the grammar can (and only there), keeps its
// reasoning free (closed by a budget here) and may open a reasoning block
// first when the prompt left that open.
func TestConstrain(t *testing.T) {
	e := loadTest(t, "syn-qwen2-q8_0.gguf", 256)
	s := newSched(t, e, SchedOptions{Slots: 2})
	prompt := encode(t, e, "Answer:")
	think, _ := e.Tok.SpecialID("<think>")
	endThink, _ := e.Tok.SpecialID("</think>")
	short, long := []int{40, 41, 42}, []int{40, 41, 42, 43, 44}
	tags := func(startsOpen bool, budget int) *Reasoning {
		return &Reasoning{StartsOpen: startsOpen, Open: []int{think}, Close: []int{endThink}, CloseWith: []int{198, endThink, 271}, Budget: budget}
	}
	for _, temp := range []float32{0, 1, 1.5} {
		for seed := uint64(1); seed <= 4; seed++ {
			p := sample.Params{Temperature: temp, Seed: seed}
			// No reasoning: the answer is one of the two literals.
			toks, _, _, res := collect(mustSubmit(t, s, Request{Prompt: prompt, MaxTokens: 20, Sample: p,
				Processors: []Processor{Constrain(newLiteral(short, long))}}))
			if (!slices.Equal(toks, short) && !slices.Equal(toks, long)) || res.Reason != StopEOG {
				t.Errorf("T=%v seed %d: %v (%q), want %v or %v then the end", temp, seed, toks, res.Reason, short, long)
			}
			// Reasoning open from the prompt with a budget of 3: free
			// tokens, the forced close, then the literal (the blank
			// separator of the forced close is not the grammar's).
			toks, _, _, res = collect(mustSubmit(t, s, Request{Prompt: prompt, MaxTokens: 20, Sample: p,
				Reasoning: tags(true, 3), Processors: []Processor{Constrain(newLiteral(long))}}))
			end := slices.Index(toks, endThink)
			if end < 0 || !slices.Equal(toks[end+1:], append([]int{271}, long...)) || res.Reason != StopEOG {
				t.Errorf("T=%v seed %d reasoning: %v (%q), want reasoning, </think>, 271, %v", temp, seed, toks, res.Reason, long)
			}
			// Undecided: the model may open a block or answer at once.
			toks, _, _, _ = collect(mustSubmit(t, s, Request{Prompt: prompt, MaxTokens: 20, Sample: p,
				Reasoning: tags(false, 2), Processors: []Processor{Constrain(newLiteral(short))}}))
			if toks[0] == think {
				end = slices.Index(toks, endThink)
				toks = toks[end+2:] // the budget's close and its separator
			}
			if !slices.Equal(toks, short) {
				t.Errorf("T=%v seed %d undecided: answer %v, want %v", temp, seed, toks, short)
			}
		}
	}
	// A forced token the grammar refuses ends the request with an error.
	st := mustSubmit(t, s, Request{Prompt: prompt, MaxTokens: 20,
		Processors: []Processor{Constrain(newLiteral(short)), script(99)}})
	toks, _, _, res := collect(st)
	if res.Err == nil || !cmp.Equal(toks, []int{99}) {
		t.Errorf("refused forced token: tokens %v, err %v", toks, res.Err)
	}
	// A grammar with no way on fails rather than sampling garbage.
	_, _, _, res = collect(mustSubmit(t, s, Request{Prompt: prompt, MaxTokens: 20,
		Processors: []Processor{Constrain(newLiteral())}}))
	if res.Err == nil {
		t.Errorf("empty grammar: no error")
	}
}

// counting counts the calls of a Checker's Process.
type counting struct {
	Checker
	n *int
}

func (c counting) Process(st *Step) error { *c.n++; return c.Checker.Process(st) }

// TestCheckFirst: a request whose processors are all Checkers draws first
// and masks only on a refusal, and decodes greedily exactly as masking at
// every step does.
func TestCheckFirst(t *testing.T) {
	e := loadTest(t, "syn-qwen2-q8_0.gguf", 256)
	s := newSched(t, e, SchedOptions{Slots: 1})
	prompt := encode(t, e, "Answer:")
	free, _, _, _ := collect(mustSubmit(t, s, Request{Prompt: prompt, MaxTokens: 6}))
	// The free greedy tokens, then a detour the model would not take.
	alts := [][]int{append(slices.Clone(free[:4]), 40, 41), {free[0], 99}}
	calls := 0
	checked, _, _, res := collect(mustSubmit(t, s, Request{Prompt: prompt, MaxTokens: 20,
		Processors: []Processor{counting{Constrain(newLiteral(alts...)).(Checker), &calls}}}))
	masked, _, _, _ := collect(mustSubmit(t, s, Request{Prompt: prompt, MaxTokens: 20,
		Processors: []Processor{ProcessorFunc(Constrain(newLiteral(alts...)).Process)}}))
	if !slices.Equal(checked, masked) || !slices.Equal(checked, alts[0]) || res.Reason != StopEOG {
		t.Errorf("check first %v (%s), mask first %v, want %v", checked, res.Reason, masked, alts[0])
	}
	// The four free tokens pass unmasked; 40, 41 and the end need masks.
	if calls != 3 {
		t.Errorf("Process ran %d times, want 3", calls)
	}
}
