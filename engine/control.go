package engine

import (
	"fmt"
	"math"

	"github.com/qilin-ai/qilin/sample"
)

// A Processor steers one request's generation. Before each token the
// scheduler samples, it calls the request's processors in order with the
// request's state at that position; a processor may change the logits in
// place (mask tokens with -Inf, add a bias) or force the next tokens. The
// sampler then draws from the changed logits. Processors run on the
// scheduler's goroutine, one request's never concurrently; a processor
// serves one request (it may keep per-request state).
//
// An error ends the request: its Result carries the error.
type Processor interface {
	Process(st *Step) error
}

// ProcessorFunc adapts a function to Processor.
type ProcessorFunc func(st *Step) error

// Process calls f.
func (f ProcessorFunc) Process(st *Step) error { return f(st) }

// A Checker is a Processor that only removes tokens (or forces some
// where it refuses all) and can tell cheaply whether it allows one. When
// every processor of a request is a Checker, the scheduler draws the token
// first and runs the processors only when a Checker refuses it, then draws
// again from the masked logits, as llama.cpp's sampler does with a
// grammar. Greedy decoding and plain temperature sampling get the same
// distribution as masking first (by the chain rule); with top-k, top-p or
// min-p the truncation sees the unmasked logits first, as in llama.cpp.
// Masks, the costly part of a grammar, are then computed only where the
// model strays.
type Checker interface {
	Processor
	// Allows reports whether tok may be chosen at st (st.Logits are the
	// unchanged logits; they must not be modified).
	Allows(st *Step, tok int) bool
}

// A Drawer is a Processor that also replaces the sampler's random draw:
// given the final distribution (after the processors' changes, the
// penalties, top-k, top-p, min-p and the temperature) it chooses the token
// by a rule of its own (a keyed Gumbel-max watermark). It is not called for
// greedy requests (Step.Greedy) nor for forced tokens. A request may have
// one Drawer.
type Drawer interface {
	Processor
	// Draw returns the token to emit: one of dist's ids (see sample.Drawer;
	// another id is ignored and the random draw decides). st is the state
	// Process saw at this position.
	Draw(st *Step, dist []sample.TokenProb) int
}

// Phase is where in its output a request is.
type Phase int

// Phases. A request without Reasoning is in PhaseAnswer from the start.
const (
	// PhaseUndecided: the output may still open a reasoning block (only
	// blank tokens, or a part of the opening tag, so far).
	PhaseUndecided Phase = iota
	// PhaseReasoning: inside the reasoning block, up to its closing tag.
	PhaseReasoning
	// PhaseAnswer: the answer, after the reasoning block or without one.
	PhaseAnswer
)

func (p Phase) String() string {
	switch p {
	case PhaseUndecided:
		return "undecided"
	case PhaseReasoning:
		return "reasoning"
	case PhaseAnswer:
		return "answer"
	}
	return fmt.Sprintf("Phase(%d)", int(p))
}

// Step is a request's state at the position whose token is about to be
// chosen. Processors read it and act through its methods. It is valid only
// during the call; its slices must not be kept or modified (but Logits).
type Step struct {
	// Logits (n_vocab) are what the sampler will draw from; processors
	// change them in place.
	Logits []float32
	Prompt []int // the request's prompt
	Output []int // the tokens generated so far, forced ones included
	// Sample is the request's sampling (its seed filled in).
	Sample sample.Params
	// Phase is the phase of the token about to be chosen.
	Phase Phase
	// AnswerStart is the index in Output of the answer's first token, -1
	// while the answer has not begun.
	AnswerStart int
	// ReasoningTokens counts the tokens generated inside the reasoning
	// block after its opening tag (what Reasoning.Budget bounds).
	ReasoningTokens int
	// Reasoning is the request's reasoning block description (nil: none).
	Reasoning *Reasoning
	// OpenMatched is, in PhaseUndecided, how many tokens of the opening tag
	// the output has written (so Reasoning.Open[OpenMatched] continues it).
	OpenMatched int

	eog    []int // end-of-generation token ids
	forced *[]int
	done   bool // a processor forced tokens: the rest are skipped
}

// Greedy reports whether the request decodes greedily (temperature 0):
// its token is the most likely one, so no draw can carry a watermark.
func (st *Step) Greedy() bool { return st.Sample.Temperature <= 0 || st.Sample.TopK == 1 }

// EOG returns the vocabulary's end-of-generation token ids.
func (st *Step) EOG() []int { return st.eog }

// Force makes toks the next tokens, emitted in order without sampling
// (Event.Forced); the processors after this one are not called at this
// position, and none is called at the positions of the forced tokens. A
// forced end-of-generation token ends the request (StopEOG).
func (st *Step) Force(toks ...int) {
	if len(toks) == 0 {
		return
	}
	*st.forced = append(*st.forced, toks...)
	st.done = true
}

// Mask removes every token whose bit is clear in allowed (bit i%64 of word
// i/64 for token i) by setting its logit to -Inf. Tokens past the bitset
// are removed. Words of all ones cost one comparison, words of all zeros
// one fill.
func (st *Step) Mask(allowed []uint64) {
	l := st.Logits
	inf := float32(math.Inf(-1))
	for w := 0; w*64 < len(l); w++ {
		var bits uint64
		if w < len(allowed) {
			bits = allowed[w]
		}
		if bits == ^uint64(0) {
			continue
		}
		row := l[w*64 : min(w*64+64, len(l))]
		if bits == 0 {
			for i := range row {
				row[i] = inf
			}
			continue
		}
		for i := range row {
			if bits&(1<<i) == 0 {
				row[i] = inf
			}
		}
	}
}

// Ban removes tok (sets its logit to -Inf).
func (st *Step) Ban(tok int) {
	if tok >= 0 && tok < len(st.Logits) {
		st.Logits[tok] = float32(math.Inf(-1))
	}
}

// drawAdapter hands a slot's Drawer to its sampler.
type drawAdapter struct {
	st *Step
	d  Drawer
}

func (a drawAdapter) Draw(dist []sample.TokenProb) int { return a.d.Draw(a.st, dist) }
