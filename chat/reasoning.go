package chat

import (
	"bytes"
	"strings"
)

// Default reasoning tags, as DeepSeek-R1, QwQ and Qwen3 write them.
const (
	ThinkOpen  = "<think>"
	ThinkClose = "</think>"
)

// ReasoningOptions configure a ReasoningParser. The zero value parses
// output that may start with <think>.
type ReasoningOptions struct {
	// StartsOpen says the prompt already opened the reasoning block (the
	// DeepSeek-R1 and QwQ templates end with "<think>\n"), so output
	// starts inside reasoning. See ReasoningStartsOpen.
	StartsOpen bool
	// Open and Close override the tags; empty means ThinkOpen/ThinkClose.
	Open, Close string
}

// ReasoningDelta is what one step of a ReasoningParser releases.
type ReasoningDelta struct {
	Reasoning string // text of the reasoning block, without its tags
	Content   string // the answer
}

// reasoning parser states
const (
	rsStart     = iota // nothing decided: output may open with the tag
	rsReasoning        // inside the reasoning block
	rsAfter            // just after the close tag: dropping whitespace
	rsContent          // in the answer
)

// ReasoningParser splits model output into reasoning and content as it
// streams in. Output is reasoning when it opens with the open tag, or from
// the start with StartsOpen; reasoning ends at the close tag (as the engine
// follows the block token by token). The blanks that separate the reasoning
// from its tags and the answer from the close tag are dropped; an open tag
// anywhere else is plain text. Output that never closes its reasoning is all
// reasoning, and Truncated reports it.
//
// Only text that may still turn out to be (part of) a tag, or a separator
// to drop, is held until the next Push or Flush decides it; everything
// else, blank text within the reasoning or the answer included, is
// released at once. Whatever the split of the output into pieces, the
// concatenated deltas are the same. A ReasoningParser is not safe for
// concurrent use.
type ReasoningParser struct {
	open, close []byte
	startsOpen  bool
	state       int
	started     bool // reasoning text has begun (leading whitespace dropped)
	h           hold
	truncated   bool
}

// NewReasoningParser returns a parser for one model output.
func NewReasoningParser(opts ReasoningOptions) *ReasoningParser {
	p := &ReasoningParser{open: []byte(opts.Open), close: []byte(opts.Close), startsOpen: opts.StartsOpen}
	if len(p.open) == 0 {
		p.open = []byte(ThinkOpen)
	}
	if len(p.close) == 0 {
		p.close = []byte(ThinkClose)
	}
	return p
}

// ReasoningStartsOpen reports whether a rendered prompt leaves a <think>
// block open at its end (only whitespace after the last <think>, no
// </think> after it), so that the model's output starts inside reasoning.
func ReasoningStartsOpen(prompt string) bool {
	i := strings.LastIndex(prompt, ThinkOpen)
	return i >= 0 && strings.TrimLeft(prompt[i+len(ThinkOpen):], asciiSpace) == ""
}

// ReasoningClosed reports whether a rendered prompt ends with a closed
// reasoning block (an empty <think></think> or a finished one, then only
// whitespace), as Qwen3's template writes it with thinking off: the output
// starts with the answer.
func ReasoningClosed(prompt string) bool {
	rest := strings.TrimRight(prompt, asciiSpace)
	return strings.HasSuffix(rest, ThinkClose) && strings.Contains(rest, ThinkOpen)
}

// Push adds the next piece of output and returns what it releases.
func (p *ReasoningParser) Push(piece string) ReasoningDelta {
	if p.state == rsContent {
		return ReasoningDelta{Content: piece}
	}
	p.h.add(piece)
	var d ReasoningDelta
	p.step(&d, false)
	return d
}

// Flush ends the output and returns everything still held.
func (p *ReasoningParser) Flush() ReasoningDelta {
	var d ReasoningDelta
	p.step(&d, true)
	return d
}

// Truncated reports whether the output ended inside the reasoning block;
// it is meaningful after Flush.
func (p *ReasoningParser) Truncated() bool { return p.truncated }

// step releases as much of the held text as can be decided; at the end
// (final) everything.
func (p *ReasoningParser) step(d *ReasoningDelta, final bool) {
	for {
		switch p.state {
		case rsStart:
			complete := bytes.HasPrefix(p.h.buf, p.open)
			partial := bytes.HasPrefix(p.open, p.h.buf)
			switch {
			case complete:
				p.h.drop(len(p.open))
				p.state = rsReasoning
				continue
			case partial && !final:
				return // a partial open tag
			case p.startsOpen:
				p.state = rsReasoning
			default:
				p.state = rsContent
			}
		case rsReasoning:
			if !p.started {
				if !p.h.dropBlanks() {
					p.truncated = final
					return
				}
				p.started = true
			}
			text, m := p.h.next([][]byte{p.close})
			d.Reasoning += text
			if m >= 0 {
				p.h.drop(len(p.close))
				p.state = rsAfter
				continue
			}
			if final {
				d.Reasoning += p.h.all()
				p.truncated = true
			}
			return
		case rsAfter:
			if !p.h.dropBlanks() {
				return
			}
			p.state = rsContent
		case rsContent:
			d.Content += p.h.all()
			return
		}
	}
}

const asciiSpace = " \t\r\n"
