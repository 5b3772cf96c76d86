package chat

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
)

// ToolFormat is how a model writes tool calls in its output.
type ToolFormat int

const (
	// ToolFormatNone: tool calls are not parsed; output is all content.
	ToolFormatNone ToolFormat = iota
	// ToolFormatQwen: Qwen2.5/Qwen3/QwQ (Hermes style), one JSON object
	// per call: <tool_call>\n{"name": ..., "arguments": {...}}\n</tool_call>.
	ToolFormatQwen
	// ToolFormatDeepSeek: DeepSeek-R1/V3 blocks
	// <｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>NAME
	// ```json ... ```<｜tool▁call▁end｜>...<｜tool▁calls▁end｜>, and the V3.1
	// form <｜tool▁call▁begin｜>NAME<｜tool▁sep｜>{...}<｜tool▁call▁end｜>.
	ToolFormatDeepSeek
	// ToolFormatQwenXML: Qwen3.5 and Qwen3-Coder, XML inside the same tags:
	// <tool_call>\n<function=NAME>\n<parameter=KEY>\nVALUE\n</parameter>\n
	// </function>\n</tool_call>, values typed by the tool's schema (see
	// parseXMLCall).
	ToolFormatQwenXML
)

// DeepSeek tool-call markers (special tokens, written with U+FF5C and U+2581).
const (
	dsCallsBegin = "<｜tool▁calls▁begin｜>"
	dsCallsEnd   = "<｜tool▁calls▁end｜>"
	dsCallBegin  = "<｜tool▁call▁begin｜>"
	dsCallEnd    = "<｜tool▁call▁end｜>"
	dsSep        = "<｜tool▁sep｜>"
	qwenBegin    = "<tool_call>"
	qwenEnd      = "</tool_call>"
)

// String names the format.
func (f ToolFormat) String() string {
	switch f {
	case ToolFormatQwen:
		return "qwen"
	case ToolFormatDeepSeek:
		return "deepseek"
	case ToolFormatQwenXML:
		return "qwen-xml"
	}
	return "none"
}

// ToolFormatFor picks the tool-call format from a chat template's source:
// the markers the template teaches the model to write. A <tool_call> tag
// counts as Qwen's only with a JSON "name" field described, not with the
// XML argument forms of GLM (<arg_key>) or Qwen3.5/Qwen3-Coder
// (<function=...> with <parameter=...>, which is ToolFormatQwenXML).
func ToolFormatFor(templateSrc string) ToolFormat {
	switch {
	case strings.Contains(templateSrc, dsCallBegin) || strings.Contains(templateSrc, dsCallsBegin):
		return ToolFormatDeepSeek
	case strings.Contains(templateSrc, qwenBegin) && strings.Contains(templateSrc, xmlFunction) &&
		strings.Contains(templateSrc, xmlParameter):
		return ToolFormatQwenXML
	case strings.Contains(templateSrc, qwenBegin) &&
		(strings.Contains(templateSrc, `"name"`) || strings.Contains(templateSrc, `\"name\"`)) &&
		!strings.Contains(templateSrc, "<arg_key>") && !strings.Contains(templateSrc, "<function="):
		return ToolFormatQwen
	}
	return ToolFormatNone
}

// ToolCallOptions configure a ToolCallParser.
type ToolCallOptions struct {
	Format ToolFormat
	// Tools are the request's tool definitions
	// ({"type": "function", "function": {...}}); ToolFormatQwenXML types
	// argument values by their parameter schemas.
	Tools []json.RawMessage
	// NewID returns the id of the next tool call; nil means "call_"
	// followed by 24 random letters and digits.
	NewID func() string
}

// ToolCallDelta is what one step of a ToolCallParser releases.
type ToolCallDelta struct {
	Content  string     // text that is not part of a tool call
	Calls    []ToolCall // tool calls completed in this step, in order
	Warnings []string   // malformed calls, returned as content instead
}

// tool-call parser states
const (
	tcText    = iota // in content
	tcBlock          // inside a tool-call block, waiting for its end
	tcAfter          // after a block: dropping whitespace
	tcBetween        // DeepSeek: after a call, before the next call or the end of the block
)

// ToolCallParser turns tool-call blocks in model output into OpenAI-shaped
// tool calls while the output streams in. Content, blank text included,
// flows out as soon as it cannot be the start of a tool-call marker; a
// partial marker and an open block are held. Blank text after a tool call
// is dropped. A block that is malformed (invalid JSON, no name) or never
// closed is returned as content, with a warning; the parser never fails.
// Whatever the split of the output into pieces, the concatenated deltas are
// the same. A ToolCallParser is not safe for concurrent use.
type ToolCallParser struct {
	format     ToolFormat
	types      paramTypes // ToolFormatQwenXML: parameter types by function
	newID      func() string
	starts     [][]byte // markers that open a block in content
	begin, end []byte   // markers around one call
	state      int
	h          hold
	scanned    int // in a block: h.buf[:scanned] holds no end marker start
	n          int // calls seen so far, for warnings
}

// NewToolCallParser returns a parser for one model output.
func NewToolCallParser(opts ToolCallOptions) *ToolCallParser {
	p := &ToolCallParser{format: opts.Format, newID: opts.NewID}
	if p.newID == nil {
		p.newID = randomCallID
	}
	switch p.format {
	case ToolFormatQwen, ToolFormatQwenXML:
		p.begin, p.end = []byte(qwenBegin), []byte(qwenEnd)
		p.starts = [][]byte{p.begin}
		if p.format == ToolFormatQwenXML {
			p.types = newParamTypes(opts.Tools)
		}
	case ToolFormatDeepSeek:
		p.begin, p.end = []byte(dsCallBegin), []byte(dsCallEnd)
		p.starts = [][]byte{[]byte(dsCallsBegin), p.begin}
	}
	return p
}

func randomCallID() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := []byte("call_000000000000000000000000")
	for i := len("call_"); i < len(b); i++ {
		b[i] = alphabet[rand.IntN(len(alphabet))]
	}
	return string(b)
}

// Push adds the next piece of content and returns what it releases.
func (p *ToolCallParser) Push(piece string) ToolCallDelta {
	if p.format == ToolFormatNone {
		return ToolCallDelta{Content: piece}
	}
	p.h.add(piece)
	var d ToolCallDelta
	p.step(&d, false)
	return d
}

// Flush ends the output and returns everything still held.
func (p *ToolCallParser) Flush() ToolCallDelta {
	var d ToolCallDelta
	if p.format != ToolFormatNone {
		p.step(&d, true)
	}
	return d
}

func (p *ToolCallParser) step(d *ToolCallDelta, final bool) {
	for {
		switch p.state {
		case tcText:
			text, m := p.h.next(p.starts)
			d.Content += text
			switch {
			case m == 0 && p.format == ToolFormatDeepSeek: // <｜tool▁calls▁begin｜> opens a block of calls
				p.h.drop(len(p.starts[0]))
				p.state = tcBetween
				continue
			case m >= 0:
				p.state, p.scanned = tcBlock, 0
				continue
			case final:
				d.Content += p.h.all()
			}
			return
		case tcBlock:
			i := bytes.Index(p.h.buf[p.scanned:], p.end)
			if i < 0 {
				p.scanned = max(p.scanned, len(p.h.buf)-len(p.end)+1)
				if final {
					p.unterminated(d)
				}
				return
			}
			p.finishCall(d, p.h.take(p.scanned+i+len(p.end)))
			p.state = tcAfter
			if p.format == ToolFormatDeepSeek {
				p.state = tcBetween
			}
		case tcBetween:
			// DeepSeek: more calls, the end of the block, or content.
			nextCall, maybeCall := p.h.hasPrefix(p.begin)
			blockEnd, maybeEnd := p.h.hasPrefix(dsCallsEndBytes)
			switch {
			case nextCall:
				p.h.drop(p.h.blank)
				p.state, p.scanned = tcBlock, 0
			case blockEnd:
				p.h.drop(p.h.blank + len(dsCallsEnd))
				p.state = tcAfter
			case (maybeCall || maybeEnd) && !final:
				return // blank so far, or a partial marker
			default:
				p.h.drop(p.h.blank)
				p.state = tcText
			}
		case tcAfter:
			if !p.h.dropBlanks() {
				return
			}
			p.state = tcText
		}
	}
}

var dsCallsEndBytes = []byte(dsCallsEnd)

// unterminated returns a block the output ended inside as content.
func (p *ToolCallParser) unterminated(d *ToolCallDelta) {
	p.n++
	d.Content += p.h.all()
	d.Warnings = append(d.Warnings, fmt.Sprintf("chat: tool call %d: output ended inside the tool call; returned as content", p.n))
	p.state = tcText
}

// finishCall parses the raw text of one call (its markers included) and
// releases a tool call, or the text as content with a warning.
func (p *ToolCallParser) finishCall(d *ToolCallDelta, raw string) {
	p.n++
	var name, args string
	var err error
	switch p.format {
	case ToolFormatDeepSeek:
		name, args, err = parseDeepSeekCall(raw[len(dsCallBegin) : len(raw)-len(dsCallEnd)])
	case ToolFormatQwenXML:
		name, args, err = parseXMLCall(raw[len(qwenBegin):len(raw)-len(qwenEnd)], p.types)
	default:
		name, args, err = parseQwenCall(raw[len(qwenBegin) : len(raw)-len(qwenEnd)])
	}
	if err != nil {
		d.Content += raw
		d.Warnings = append(d.Warnings, fmt.Sprintf("chat: tool call %d: %v; returned as content", p.n, err))
		return
	}
	d.Calls = append(d.Calls, ToolCall{ID: p.newID(), Type: "function", Function: ToolCallFunction{Name: name, Arguments: args}})
}

// parseQwenCall parses {"name": ..., "arguments": {...}}. Arguments keep
// the model's text (so its key order); "parameters" is accepted for
// "arguments", and arguments written as a JSON string holding JSON are
// unwrapped.
func parseQwenCall(body string) (name, args string, err error) {
	var call struct {
		Name       *string         `json:"name"`
		Arguments  json.RawMessage `json:"arguments"`
		Parameters json.RawMessage `json:"parameters"`
	}
	body = strings.TrimSpace(body)
	if !strings.HasPrefix(body, "{") {
		return "", "", fmt.Errorf("want a JSON object, got %.40q", body)
	}
	if err := json.Unmarshal([]byte(body), &call); err != nil {
		return "", "", fmt.Errorf("invalid JSON: %v", err)
	}
	if call.Name == nil || *call.Name == "" {
		return "", "", fmt.Errorf("no function name")
	}
	raw := call.Arguments
	if raw == nil {
		raw = call.Parameters
	}
	args, err = argumentsText(raw)
	return *call.Name, args, err
}

// argumentsText turns the raw arguments value into the arguments string:
// an object as written, a JSON string holding an object unwrapped, absent or
// null as {}.
func argumentsText(raw json.RawMessage) (string, error) {
	s := strings.TrimSpace(string(raw))
	switch {
	case s == "" || s == "null":
		return "{}", nil
	case strings.HasPrefix(s, "{"):
		return s, nil
	case strings.HasPrefix(s, `"`):
		var inner string
		if err := json.Unmarshal([]byte(s), &inner); err == nil {
			inner = strings.TrimSpace(inner)
			if strings.HasPrefix(inner, "{") && json.Valid([]byte(inner)) {
				return inner, nil
			}
		}
	}
	return "", fmt.Errorf("arguments are not a JSON object: %.40q", s)
}

// parseDeepSeekCall parses the text between <｜tool▁call▁begin｜> and
// <｜tool▁call▁end｜>: "function<｜tool▁sep｜>NAME\n```json\n{...}\n```"
// (R1, V3) or "NAME<｜tool▁sep｜>{...}" (V3.1).
func parseDeepSeekCall(body string) (name, args string, err error) {
	head, tail, ok := strings.Cut(body, dsSep)
	if !ok {
		return "", "", fmt.Errorf("no %s", dsSep)
	}
	head, tail = strings.TrimSpace(head), strings.TrimSpace(tail)
	if strings.HasPrefix(tail, "{") {
		name, args = head, tail // V3.1
	} else {
		// R1: the name on its own line, then the arguments, usually in
		// a ```json fence.
		var rest string
		name, rest, _ = strings.Cut(tail, "\n")
		name, rest = strings.TrimSpace(name), strings.TrimSpace(rest)
		if strings.HasPrefix(rest, "```") {
			_, rest, _ = strings.Cut(rest, "\n") // the fence line, ```json
			if i := strings.LastIndex(rest, "```"); i >= 0 {
				rest = rest[:i]
			}
		}
		args = strings.TrimSpace(rest)
	}
	if name == "" {
		return "", "", fmt.Errorf("no function name")
	}
	if !strings.HasPrefix(args, "{") || !json.Valid([]byte(args)) {
		return "", "", fmt.Errorf("arguments of %s are not a valid JSON object: %.40q", name, args)
	}
	return name, args, nil
}
