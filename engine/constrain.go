package engine

import (
	"fmt"
	"slices"
)

// A Matcher is a grammar's state for one request, as package grammar
// keeps it: it says which tokens may come next and follows the tokens
// chosen.
type Matcher interface {
	// Mask sets the bit of every token the grammar accepts next in allowed
	// (bit i%64 of word i/64 for token i; all clear beforehand).
	// End-of-generation tokens are left to CanEnd.
	Mask(allowed []uint64)
	// Accept advances past tok; an error says the grammar does not accept
	// it.
	Accept(tok int) error
	// CanEnd reports whether the tokens accepted so far are a complete
	// sentence of the grammar.
	CanEnd() bool
	// Allows reports whether tok may come next (an end-of-generation
	// token: whether the grammar can end), without advancing.
	Allows(tok int) bool
}

// Constrain returns the Processor that holds a request's answer to a
// grammar. The reasoning block stays free (but cannot end the output:
// the answer must follow); from the answer's first token on (Step.Phase,
// Step.AnswerStart) only tokens m accepts may be chosen, and an
// end-of-generation token only where m can end. While the output may still
// open a reasoning block (PhaseUndecided) the opening tag is allowed too.
// A forced token the grammar does not accept ends the request with an
// error, as does a grammar that allows no token at all.
func Constrain(m Matcher) Processor { return &constrain{m: m} }

type constrain struct {
	m    Matcher
	fed  int      // Output[:fed] went to the matcher (or was not answer)
	bits []uint64 // (n_vocab/64) the allowed tokens
}

// catchUp feeds the matcher the answer tokens it has not seen.
func (c *constrain) catchUp(st *Step) error {
	if st.AnswerStart < 0 {
		return nil
	}
	c.fed = max(c.fed, st.AnswerStart)
	for ; c.fed < len(st.Output); c.fed++ {
		if err := c.m.Accept(st.Output[c.fed]); err != nil {
			return fmt.Errorf("engine: grammar: output token %d (%d): %w", c.fed, st.Output[c.fed], err)
		}
	}
	return nil
}

// Allows makes the constraint a Checker: the token the sampler drew
// passes when the phase's rule (below) and the grammar allow it, and only
// otherwise is the mask computed.
func (c *constrain) Allows(st *Step, tok int) bool {
	isEOG := slices.Contains(st.EOG(), tok)
	switch {
	case st.Phase == PhaseReasoning:
		return !isEOG
	case c.catchUp(st) != nil:
		return false // Process reports the error
	case st.Phase == PhaseUndecided && st.OpenMatched > 0:
		return tok == st.Reasoning.Open[st.OpenMatched]
	case st.Phase == PhaseUndecided && tok == st.Reasoning.Open[0]:
		return true
	case isEOG:
		return c.m.CanEnd()
	}
	return c.m.Allows(tok)
}

func (c *constrain) Process(st *Step) error {
	if st.Phase == PhaseReasoning {
		for _, t := range st.EOG() {
			st.Ban(t)
		}
		return nil
	}
	if err := c.catchUp(st); err != nil {
		return err
	}
	if words := (len(st.Logits) + 63) / 64; len(c.bits) != words {
		c.bits = make([]uint64, words)
	}
	clear(c.bits)
	set := func(t int) {
		if t >= 0 && t/64 < len(c.bits) {
			c.bits[t/64] |= 1 << (t % 64)
		}
	}
	if st.Phase == PhaseUndecided && st.OpenMatched > 0 {
		// Inside the opening tag: only its next token.
		set(st.Reasoning.Open[st.OpenMatched])
		st.Mask(c.bits)
		return nil
	}
	c.m.Mask(c.bits)
	canEnd := c.m.CanEnd()
	for _, t := range st.EOG() {
		if canEnd {
			set(t)
		} else {
			c.bits[t/64] &^= 1 << (t % 64)
		}
	}
	if st.Phase == PhaseUndecided {
		set(st.Reasoning.Open[0])
	}
	any := false
	for _, w := range c.bits {
		if w != 0 {
			any = true
			break
		}
	}
	if !any {
		return fmt.Errorf("engine: grammar: no token can continue the output")
	}
	st.Mask(c.bits)
	return nil
}
