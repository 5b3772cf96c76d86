package engine

// reasonTracker follows a request's output through its reasoning block,
// token by token: the block is open from the start (Reasoning.StartsOpen)
// or when the output begins with the opening tag, and ends with the
// closing tag. (chat.ReasoningParser also lets blank text come before the
// tag; models do not write that, and a grammar must know at once whether a
// token belongs to the answer.)
type reasonTracker struct {
	r            *Reasoning
	phase        Phase
	openMatched  int // PhaseUndecided: tokens of r.Open written
	closeMatched int // PhaseReasoning: tokens of r.Close written
	inside       int // tokens after the opening tag
	total        int // tokens of the block, tags included
	answerStart  int // index of the answer's first token; -1 before it
}

func (t *reasonTracker) reset(r *Reasoning) {
	*t = reasonTracker{r: r, phase: PhaseAnswer, answerStart: 0}
	switch {
	case r == nil:
	case r.StartsOpen:
		t.phase, t.answerStart = PhaseReasoning, -1
	default:
		t.phase, t.answerStart = PhaseUndecided, -1
	}
}

// push moves the tracker past tok, the output's token at index i, and
// reports whether tok closed the reasoning block.
func (t *reasonTracker) push(tok, i int) (closed bool) {
	switch t.phase {
	case PhaseUndecided:
		if tok != t.r.Open[t.openMatched] {
			// No reasoning block: the output is all answer, the part of the
			// opening tag written before this token included.
			t.phase, t.answerStart = PhaseAnswer, 0
			return false
		}
		t.openMatched++
		if t.openMatched == len(t.r.Open) {
			t.phase = PhaseReasoning
			t.total = t.openMatched
		}
	case PhaseReasoning:
		t.inside++
		t.total++
		switch {
		case tok == t.r.Close[t.closeMatched]:
			t.closeMatched++
		case tok == t.r.Close[0]:
			t.closeMatched = 1
		default:
			t.closeMatched = 0
		}
		if t.closeMatched == len(t.r.Close) {
			t.phase, t.answerStart = PhaseAnswer, i+1
			return true
		}
	}
	return false
}

// budget is the Processor of Reasoning.Budget: once the block holds Budget
// tokens after its opening tag, it forces the close.
type budget struct{ r *Reasoning }

// Allows refuses every token once the budget is spent, so that Process
// runs and forces the close.
func (b budget) Allows(st *Step, tok int) bool {
	return !(st.Phase == PhaseReasoning && st.ReasoningTokens >= b.r.Budget)
}

func (b budget) Process(st *Step) error {
	if st.Phase == PhaseReasoning && st.ReasoningTokens >= b.r.Budget {
		if b.r.CloseWith != nil {
			st.Force(b.r.CloseWith...)
		} else {
			st.Force(b.r.Close...)
		}
	}
	return nil
}
