package engine

import (
	"fmt"
	"strings"
	"time"

	"github.com/qilin-ai/qilin/sample"
)

// produce chooses sl's next token from logits, emits it and decides
// whether the request goes on.
func (s *Scheduler) produce(sl *slot, logits []float32) {
	j := sl.job
	r := &j.req
	raw := logits
	tok, forced, err := s.choose(sl, logits, &raw)
	if err != nil {
		s.finish(sl, "", "", err)
		return
	}
	if j.first == 0 {
		j.first = time.Since(j.submitted)
	}
	if s.e.Tok.IsEOG(tok) {
		s.finish(sl, StopEOG, "", nil)
		return
	}
	sl.gen = append(sl.gen, tok)
	if sl.reason.push(tok, len(sl.gen)-1) {
		// The answer starts after the blank rest of a forced close
		// ("\n\n"), the separator chat parsers drop.
		for _, f := range sl.forced {
			if !blank(s.e.Tok.Piece(f)) {
				break
			}
			sl.reason.answerStart++
		}
	}
	s.stats.generated.Add(1)
	ev := Event{Token: tok, Forced: forced}
	if r.Logprobs || r.TopLogprobs > 0 {
		ev.Logprob = sample.Logprob(raw, tok)
		if r.TopLogprobs > 0 {
			ev.Top = sample.TopLogprobs(raw, r.TopLogprobs, make([]sample.TokenLogprob, 0, r.TopLogprobs))
		}
	}
	stop := s.addText(sl, sl.dec.Push(tok), &ev)
	j.st.push(ev)
	switch {
	case stop != "":
		s.finish(sl, StopString, stop, nil)
	case r.MaxTokens > 0 && len(sl.gen) >= r.MaxTokens:
		s.finish(sl, StopLength, "", nil)
	case len(sl.tokens) >= s.opts.SlotContext:
		s.finish(sl, StopLength, "", nil)
	default:
		sl.next = tok
	}
}

// choose returns the next token: a forced one, or one sampled from logits
// after the processors ran. raw is set to the logits as the model gave
// them when the processors may have changed logits and logprobs need them.
func (s *Scheduler) choose(sl *slot, logits []float32, raw *[]float32) (tok int, forced bool, err error) {
	if len(sl.forced) == 0 && sl.checkFirst {
		// Every processor is a Checker: draw first, and mask only when
		// one refuses the token drawn.
		st := sl.fillStep(logits)
		tok := sl.sampler.Sample(logits, sl.tokens)
		ok := true
		for _, p := range sl.procs {
			if ok = p.(Checker).Allows(st, tok); !ok {
				break
			}
		}
		st.Logits = nil
		if ok {
			return tok, false, nil
		}
	}
	if len(sl.forced) == 0 && len(sl.procs) > 0 {
		if sl.raw != nil {
			copy(sl.raw, logits)
			*raw = sl.raw
		}
		st := sl.fillStep(logits)
		for _, p := range sl.procs {
			if err := p.Process(st); err != nil {
				return 0, false, err
			}
			if st.done {
				break
			}
		}
		st.Logits = nil
	}
	if len(sl.forced) > 0 {
		tok = sl.forced[0]
		copy(sl.forced, sl.forced[1:])
		sl.forced = sl.forced[:len(sl.forced)-1]
		if tok < 0 || tok >= len(logits) {
			return 0, false, fmt.Errorf("engine: a processor forced token %d, outside the vocabulary of %d", tok, len(logits))
		}
		return tok, true, nil
	}
	return sl.sampler.Sample(logits, sl.tokens), false, nil
}

// fillStep sets sl's Step to the position about to be chosen.
func (sl *slot) fillStep(logits []float32) *Step {
	st := &sl.step
	st.Logits, st.Output = logits, sl.gen
	rt := &sl.reason
	st.Phase, st.AnswerStart, st.ReasoningTokens, st.OpenMatched = rt.phase, rt.answerStart, rt.inside, rt.openMatched
	st.done = false
	return st
}

// blank reports whether a token's text is only whitespace.
func blank(piece []byte) bool {
	for _, c := range piece {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return false
		}
	}
	return len(piece) > 0
}

// finish ends sl's request from inside a step.
func (s *Scheduler) finish(sl *slot, why StopReason, stop string, err error) {
	s.mu.Lock()
	s.release(sl, why, stop, err)
	s.mu.Unlock()
}

// addText adds newly decoded text to sl's output, releasing into ev what
// cannot be part of a stop string, and returns the stop string found.
func (s *Scheduler) addText(sl *slot, text string, ev *Event) string {
	stops := sl.job.req.Stop
	if len(stops) == 0 {
		ev.Text = text
		return ""
	}
	sl.held.WriteString(text)
	h := sl.held.String()
	at, which := -1, ""
	for _, st := range stops {
		if st == "" {
			continue
		}
		if i := strings.Index(h, st); i >= 0 && (at < 0 || i < at) {
			at, which = i, st
		}
	}
	if at >= 0 {
		ev.Text = h[:at]
		sl.held.Reset()
		return which
	}
	keep := 0
	for _, st := range stops {
		for n := min(len(st)-1, len(h)); n > keep; n-- {
			if strings.HasSuffix(h, st[:n]) {
				keep = n
				break
			}
		}
	}
	ev.Text = h[:len(h)-keep]
	sl.held.Reset()
	sl.held.WriteString(h[len(h)-keep:])
	return ""
}

// flushText emits the text still held at the end of a request, unless a
// stop string matched (then the held text was cut at it).
func (s *Scheduler) flushText(sl *slot, stopped bool) {
	var rest string
	if !stopped {
		rest = sl.held.String() + sl.dec.Flush()
	}
	sl.held.Reset()
	if rest != "" {
		sl.job.st.push(Event{Token: -1, Text: rest})
	}
}
