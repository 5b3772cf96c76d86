package engine

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/qilin-ai/qilin/chat"
	"github.com/qilin-ai/qilin/tokenizer"
)

// ChatEncoder turns a conversation into prompt tokens with a chat template,
// keeping the two sources of text apart: the template's own markers
// (<|im_start|>, <｜User｜>, the BOS text) become special tokens, while
// control-token text inside the messages, tools and template variables that
// a user supplied stays plain text, as if tokenized with parseSpecial off.
//
// How: before rendering, every control-token occurrence (and the sentinel
// character itself) inside user-supplied strings is replaced by a sentinel
// (U+E000, an index, U+E001) that no template alters and that contains no
// special token. After rendering, the sentinels are put back and the byte
// ranges they held are passed to Tokenizer.EncodeTemplated as plain text, so
// the rest of the prompt tokenizes exactly as with parseSpecial on. Other
// template logic (strip, split on </think>, startswith) sees the user's text
// unchanged unless it looks for control-token text in it.
type ChatEncoder struct {
	tok      *tokenizer.Tokenizer
	tmpl     *chat.Template
	bos, eos string
}

const (
	sentinelOpen  = '\uE000'
	sentinelClose = '\uE001'
)

// NewChatEncoder prepares an encoder for tok and tmpl.
func NewChatEncoder(tok *tokenizer.Tokenizer, tmpl *chat.Template) *ChatEncoder {
	c := &ChatEncoder{tok: tok, tmpl: tmpl}
	if id := tok.BOS(); id >= 0 {
		c.bos = tok.TokenText(id)
	}
	if id := tok.EOS(); id >= 0 {
		c.eos = tok.TokenText(id)
	}
	return c
}

// Template returns the encoder's template.
func (c *ChatEncoder) Template() *chat.Template { return c.tmpl }

// Encode renders in (its BOS and EOS filled in from the vocabulary when
// empty) and tokenizes the prompt. It returns the tokens, with BOS first
// when the vocabulary asks for it and the template did not write it, and
// the rendered prompt text.
func (c *ChatEncoder) Encode(in chat.Input) ([]int, string, error) {
	esc := escaper{tok: c.tok}
	if err := esc.input(&in); err != nil {
		return nil, "", err
	}
	if in.BOS == "" {
		in.BOS = c.bos
	}
	if in.EOS == "" {
		in.EOS = c.eos
	}
	rendered, err := c.tmpl.Render(in)
	if err != nil {
		return nil, "", err
	}
	text, plain := restore(rendered, esc.orig)
	ids, err := c.tok.EncodeTemplated(text, false, plain)
	if err != nil {
		return nil, "", err
	}
	if c.tok.AddBOS() && c.tok.BOS() >= 0 && (len(ids) == 0 || ids[0] != c.tok.BOS()) {
		ids = append([]int{c.tok.BOS()}, ids...)
	}
	return ids, text, nil
}

// EncodeTemplateText tokenizes text that a template writes (such as the
// close of a reasoning block): its control-token text becomes special tokens.
func (c *ChatEncoder) EncodeTemplateText(text string) ([]int, error) {
	return c.tok.Encode(text, false, true)
}

// restore replaces the sentinels in s with the text they stand for and
// returns the result with the byte ranges of that text. A sentinel the
// template cut or invented stays as it is.
func restore(s string, orig []string) (string, []tokenizer.Range) {
	if len(orig) == 0 || !strings.ContainsRune(s, sentinelOpen) {
		return s, nil
	}
	var sb strings.Builder
	var plain []tokenizer.Range
	for {
		i := strings.IndexRune(s, sentinelOpen)
		if i < 0 {
			sb.WriteString(s)
			return sb.String(), plain
		}
		sb.WriteString(s[:i])
		rest := s[i+utf8.RuneLen(sentinelOpen):]
		j := strings.IndexRune(rest, sentinelClose)
		n, err := strconv.Atoi(rest[:max(j, 0)])
		if j < 0 || err != nil || n < 0 || n >= len(orig) {
			sb.WriteRune(sentinelOpen)
			s = rest
			continue
		}
		plain = append(plain, tokenizer.Range{Start: sb.Len(), End: sb.Len() + len(orig[n])})
		sb.WriteString(orig[n])
		s = rest[j+utf8.RuneLen(sentinelClose):]
	}
}

// escaper replaces control-token text in user strings with sentinels and
// remembers the originals.
type escaper struct {
	tok  *tokenizer.Tokenizer
	orig []string
}

// str escapes one user string.
func (e *escaper) str(s string) string {
	ctl := e.tok.ControlRanges(s)
	if len(ctl) == 0 && !strings.ContainsRune(s, sentinelOpen) {
		return s
	}
	var sb strings.Builder
	for i := 0; i < len(s); {
		if len(ctl) > 0 && ctl[0].Start == i {
			e.sentinel(&sb, s[i:ctl[0].End])
			i = ctl[0].End
			ctl = ctl[1:]
			continue
		}
		if r, n := utf8.DecodeRuneInString(s[i:]); r == sentinelOpen {
			e.sentinel(&sb, s[i:i+n])
			i += n
			continue
		}
		sb.WriteByte(s[i])
		i++
	}
	return sb.String()
}

func (e *escaper) sentinel(sb *strings.Builder, text string) {
	sb.WriteRune(sentinelOpen)
	sb.WriteString(strconv.Itoa(len(e.orig)))
	sb.WriteRune(sentinelClose)
	e.orig = append(e.orig, text)
}

// input escapes every user-supplied string of in.
func (e *escaper) input(in *chat.Input) error {
	if in.RawMessages != nil {
		raw, err := e.json(in.RawMessages)
		if err != nil {
			return fmt.Errorf("messages: %w", err)
		}
		in.RawMessages = raw
	} else {
		msgs := make([]chat.Message, len(in.Messages))
		for i, m := range in.Messages {
			m.Role, m.Content, m.ReasoningContent = e.str(m.Role), e.str(m.Content), e.str(m.ReasoningContent)
			m.Name, m.ToolCallID = e.str(m.Name), e.str(m.ToolCallID)
			calls := make([]chat.ToolCall, len(m.ToolCalls))
			for k, tc := range m.ToolCalls {
				tc.ID, tc.Function.Name = e.str(tc.ID), e.str(tc.Function.Name)
				tc.Function.Arguments = e.str(tc.Function.Arguments)
				calls[k] = tc
			}
			if m.ToolCalls != nil {
				m.ToolCalls = calls
			}
			msgs[i] = m
		}
		in.Messages = msgs
	}
	if in.Tools != nil {
		tools := make([]json.RawMessage, len(in.Tools))
		for i, t := range in.Tools {
			raw, err := e.json(t)
			if err != nil {
				return fmt.Errorf("tools[%d]: %w", i, err)
			}
			tools[i] = raw
		}
		in.Tools = tools
	}
	if in.Vars != nil {
		vars := make(map[string]any, len(in.Vars))
		for k, v := range in.Vars {
			switch x := v.(type) {
			case string:
				v = e.str(x)
			case json.RawMessage:
				raw, err := e.json(x)
				if err != nil {
					return fmt.Errorf("variable %s: %w", k, err)
				}
				v = raw
			}
			vars[k] = v
		}
		in.Vars = vars
	}
	return nil
}

// json rewrites the string values (not the keys) of a JSON document,
// keeping its key order and number literals.
func (e *escaper) json(raw []byte) (json.RawMessage, error) {
	if len(e.tok.ControlRanges(string(raw))) == 0 && !bytes.ContainsRune(raw, sentinelOpen) && !bytes.Contains(raw, []byte(`\u`)) {
		return raw, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	// stack of containers: for each, whether it is an object, and the
	// count of tokens written in it.
	type frame struct {
		object bool
		n      int
	}
	var stack []frame
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		isKey := false
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			out.WriteByte(byte(d))
			if len(stack) > 0 {
				stack[len(stack)-1].n++
			}
			continue
		}
		if len(stack) > 0 {
			f := &stack[len(stack)-1]
			switch {
			case f.object && f.n%2 == 1:
				out.WriteByte(':')
			case f.n > 0:
				out.WriteByte(',')
			}
			isKey = f.object && f.n%2 == 0
		}
		switch x := tok.(type) {
		case json.Delim:
			out.WriteByte(byte(x))
			stack = append(stack, frame{object: x == '{'})
			continue
		case string:
			if !isKey {
				x = e.str(x)
			}
			if err := enc.Encode(x); err != nil {
				return nil, err
			}
			out.Truncate(out.Len() - 1) // Encode's newline
		case json.Number:
			out.WriteString(x.String())
		case bool:
			out.WriteString(strconv.FormatBool(x))
		case nil:
			out.WriteString("null")
		}
		if len(stack) > 0 {
			stack[len(stack)-1].n++
		}
	}
	if len(stack) != 0 {
		return nil, errors.New("unexpected end of JSON input")
	}
	return out.Bytes(), nil
}
