package chat

import "encoding/json"

// OutputOptions configure an OutputParser.
type OutputOptions struct {
	// Reasoning enables splitting <think>…</think> off the output.
	Reasoning bool
	// ReasoningStartsOpen: the prompt opened the reasoning block (see
	// ReasoningStartsOpen). It implies Reasoning.
	ReasoningStartsOpen bool
	// Tools is the tool-call format to parse in the content (after the
	// reasoning); see ToolFormatFor.
	Tools ToolFormat
	// ToolDefs are the request's tool definitions (see ToolCallOptions.Tools).
	ToolDefs []json.RawMessage
	// NewID returns tool-call ids; nil means random "call_..." ids.
	NewID func() string
}

// Delta is what one step of an OutputParser releases: the pieces of an
// OpenAI chat-completion delta.
type Delta struct {
	Reasoning string     // reasoning_content
	Content   string     // content
	ToolCalls []ToolCall // tool calls completed in this step, in order
	Warnings  []string   // malformed tool calls returned as content
}

// OutputParser chains a ReasoningParser and a ToolCallParser: tool calls are
// looked for in the content only, never in the reasoning. The zero value is
// not usable; call NewOutputParser.
type OutputParser struct {
	reasoning *ReasoningParser // nil when reasoning is not parsed
	tools     *ToolCallParser
	calls     int
}

// NewOutputParser returns a parser for one model output.
func NewOutputParser(opts OutputOptions) *OutputParser {
	p := &OutputParser{tools: NewToolCallParser(ToolCallOptions{Format: opts.Tools, Tools: opts.ToolDefs, NewID: opts.NewID})}
	if opts.Reasoning || opts.ReasoningStartsOpen {
		p.reasoning = NewReasoningParser(ReasoningOptions{StartsOpen: opts.ReasoningStartsOpen})
	}
	return p
}

// Push adds the next piece of output (decoded text, special tokens such as
// <tool_call> included) and returns what it releases.
func (p *OutputParser) Push(piece string) Delta {
	r := ReasoningDelta{Content: piece}
	if p.reasoning != nil {
		r = p.reasoning.Push(piece)
	}
	return p.combine(r, p.tools.Push(r.Content))
}

// Flush ends the output and returns everything still held.
func (p *OutputParser) Flush() Delta {
	var r ReasoningDelta
	if p.reasoning != nil {
		r = p.reasoning.Flush()
	}
	d := p.combine(r, p.tools.Push(r.Content))
	d.Append(p.combine(ReasoningDelta{}, p.tools.Flush()))
	return d
}

func (p *OutputParser) combine(r ReasoningDelta, t ToolCallDelta) Delta {
	p.calls += len(t.Calls)
	return Delta{Reasoning: r.Reasoning, Content: t.Content, ToolCalls: t.Calls, Warnings: t.Warnings}
}

// Truncated reports whether the output ended inside its reasoning; it is
// meaningful after Flush.
func (p *OutputParser) Truncated() bool { return p.reasoning != nil && p.reasoning.Truncated() }

// ToolCalls returns how many tool calls have been released so far: the
// OpenAI streaming index of the next one.
func (p *OutputParser) ToolCalls() int { return p.calls }

// Parse parses a whole output at once.
func Parse(output string, opts OutputOptions) (d Delta, truncated bool) {
	p := NewOutputParser(opts)
	d = p.Push(output)
	d.Append(p.Flush())
	return d, p.Truncated()
}

// Append adds e, a later delta, to d.
func (d *Delta) Append(e Delta) {
	d.Reasoning += e.Reasoning
	d.Content += e.Content
	d.ToolCalls = append(d.ToolCalls, e.ToolCalls...)
	d.Warnings = append(d.Warnings, e.Warnings...)
}
