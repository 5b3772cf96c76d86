// Package chatprompt renders a conversation with a chat template and
// tokenizes it so that control tokens come only from the template: the
// engine's prompts for generation and the trainer's for training are the
// same tokens.
package chatprompt

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/qilin-ai/qilin/chat"
	"github.com/qilin-ai/qilin/tokenizer"
)

// Prompt is a conversation rendered with a chat template and tokenized.
type Prompt struct {
	Text   string // the rendered prompt
	Tokens []int  // its tokens, BOS included where the model wants one
	// ThinkingOpen reports that the template itself opened a reasoning
	// block (<think> at the end of the prompt, as DeepSeek-R1 does), so the
	// output starts inside the reasoning.
	ThinkingOpen bool
}

// Sentinels that mark control-token text found in user-supplied strings
// while the template renders: begin goes after the token's first byte
// (which also stops it matching as a token), end after its last. They are
// Unicode noncharacters, removed from user strings beforehand.
const (
	markBegin = "\uFDD0"
	markEnd   = "\uFDD1"
)

// Render renders in with tmpl and tokenizes the result with tok so that
// control tokens come only from the template: control-token text inside
// message contents, reasoning, tool calls, tool results, tool definitions
// or template variables stays plain text (a user cannot open a system turn
// by typing <|im_start|>system). BOS and EOS strings default to the
// tokenizer's.
func Render(tmpl *chat.Template, tok *tokenizer.Tokenizer, in chat.Input) (Prompt, error) {
	if in.BOS == "" && tok.BOS() >= 0 {
		in.BOS = tok.TokenText(tok.BOS())
	}
	if in.EOS == "" && tok.EOS() >= 0 {
		in.EOS = tok.TokenText(tok.EOS())
	}
	in, err := markInput(in, tok)
	if err != nil {
		return Prompt{}, err
	}
	marked, err := tmpl.Render(in)
	if err != nil {
		return Prompt{}, err
	}
	text, plain := unmark(marked)
	addBOS := tok.AddBOS() && (tok.BOS() < 0 || !strings.HasPrefix(text, tok.TokenText(tok.BOS())))
	toks, err := tok.EncodeTemplated(text, addBOS, plain)
	if err != nil {
		return Prompt{}, err
	}
	return Prompt{Text: text, Tokens: toks, ThinkingOpen: chat.ReasoningStartsOpen(text)}, nil
}

// markString brackets every control-token occurrence in s with the
// sentinels, after removing any sentinels s already holds.
func markString(s string, tok *tokenizer.Tokenizer) string {
	s = strings.NewReplacer(markBegin, "", markEnd, "").Replace(s)
	rs := tok.ControlRanges(s)
	if len(rs) == 0 {
		return s
	}
	var b strings.Builder
	pos := 0
	for _, r := range rs {
		b.WriteString(s[pos : r.Start+1])
		b.WriteString(markBegin)
		b.WriteString(s[r.Start+1 : r.End])
		b.WriteString(markEnd)
		pos = r.End
	}
	b.WriteString(s[pos:])
	return b.String()
}

// unmark removes the sentinels from rendered text and returns the ranges
// of the marked control-token texts. A sentinel the template lost its pair
// of is dropped.
func unmark(s string) (string, []tokenizer.Range) {
	if !strings.Contains(s, markBegin) && !strings.Contains(s, markEnd) {
		return s, nil
	}
	var b strings.Builder
	var rs []tokenizer.Range
	open := -1
	for i := 0; i < len(s); {
		switch {
		case strings.HasPrefix(s[i:], markBegin):
			// The token's first byte was written just before.
			open = b.Len() - 1
			i += len(markBegin)
		case strings.HasPrefix(s[i:], markEnd):
			if open >= 0 {
				rs = append(rs, tokenizer.Range{Start: open, End: b.Len()})
			}
			open = -1
			i += len(markEnd)
		default:
			b.WriteByte(s[i])
			i++
		}
	}
	return b.String(), rs
}

// markInput returns a copy of in whose user-supplied strings are marked.
func markInput(in chat.Input, tok *tokenizer.Tokenizer) (chat.Input, error) {
	mark := func(s string) string { return markString(s, tok) }
	if in.Messages != nil {
		msgs := make([]chat.Message, len(in.Messages))
		for i, m := range in.Messages {
			m.Content = mark(m.Content)
			m.ReasoningContent = mark(m.ReasoningContent)
			m.Name = mark(m.Name)
			calls := make([]chat.ToolCall, len(m.ToolCalls))
			for j, c := range m.ToolCalls {
				c.Function.Name = mark(c.Function.Name)
				c.Function.Arguments = mark(c.Function.Arguments)
				calls[j] = c
			}
			if m.ToolCalls != nil {
				m.ToolCalls = calls
			}
			msgs[i] = m
		}
		in.Messages = msgs
	}
	var err error
	if in.RawMessages != nil {
		if in.RawMessages, err = markJSON(in.RawMessages, mark); err != nil {
			return in, fmt.Errorf("chatprompt: messages: %w", err)
		}
	}
	if in.Tools != nil {
		tools := make([]json.RawMessage, len(in.Tools))
		for i, t := range in.Tools {
			if tools[i], err = markJSON(t, mark); err != nil {
				return in, fmt.Errorf("chatprompt: tools[%d]: %w", i, err)
			}
		}
		in.Tools = tools
	}
	// Template variables can come from clients (chat_template_kwargs).
	if in.Vars != nil {
		vars := make(map[string]any, len(in.Vars))
		for k, v := range in.Vars {
			switch x := v.(type) {
			case string:
				v = mark(x)
			case json.RawMessage:
				if v, err = markJSON(x, mark); err != nil {
					return in, fmt.Errorf("chatprompt: variable %s: %w", k, err)
				}
			}
			vars[k] = v
		}
		in.Vars = vars
	}
	return in, nil
}

// markJSON rewrites every string value (not object keys) of a JSON
// document with f, keeping key order and numbers as written.
func markJSON(doc json.RawMessage, f func(string) string) (json.RawMessage, error) {
	if !json.Valid(doc) {
		return nil, fmt.Errorf("invalid JSON")
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var out bytes.Buffer
	// stack of containers: true for an object; keyNext says the next string
	// in an object is a key.
	type frame struct{ object, keyNext, first bool }
	var stack []frame
	sep := func() {
		if len(stack) == 0 {
			return
		}
		top := &stack[len(stack)-1]
		if top.object && !top.keyNext {
			out.WriteByte(':')
			top.keyNext = true
			return
		}
		if !top.first {
			out.WriteByte(',')
		}
		top.first = false
		if top.object {
			top.keyNext = false
		}
	}
	for {
		t, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		switch v := t.(type) {
		case json.Delim:
			if v == '{' || v == '[' {
				sep()
				stack = append(stack, frame{object: v == '{', keyNext: v == '{', first: true})
			} else {
				stack = stack[:len(stack)-1]
			}
			out.WriteByte(byte(v))
			continue
		case string:
			isKey := len(stack) > 0 && stack[len(stack)-1].object && stack[len(stack)-1].keyNext
			sep()
			if !isKey {
				v = f(v)
			}
			b, _ := json.Marshal(v)
			out.Write(b)
		default:
			sep()
			b, err := json.Marshal(v)
			if err != nil {
				return nil, err
			}
			out.Write(b)
		}
	}
	return out.Bytes(), nil
}
