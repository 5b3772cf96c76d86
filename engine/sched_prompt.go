package engine

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/qilin-ai/qilin/chat"
	"github.com/qilin-ai/qilin/tokenizer"
)

// ChatEncoder turns a conversation into prompt tokens with a chat template,
// keeping the two sources of text apart: the template's own markers
// (<|im_start|>, <｜User｜>, the BOS text) become special tokens, while
// special-token text inside the messages, tools and template variables that
// a user supplied stays plain text, as if tokenized with parseSpecial off.
//
// How: before rendering, every control-token text (and the sentinel
// character itself) inside user-supplied strings is replaced by a sentinel
// (U+E000, an index, U+E001) that no template alters and that contains no
// special token. The rendered prompt is then split at the control tokens
// that remain, which can only be the template's; the text between them, with
// the sentinels restored, is tokenized with parseSpecial off. Other template
// logic (strip, split on </think>, startswith) sees the user's text
// unchanged unless it looks for control-token text in it.
type ChatEncoder struct {
	tok      *tokenizer.Tokenizer
	tmpl     *chat.Template
	controls []control // longest text first
	first    [256]bool // bytes that start some control text
	bos, eos string
}

// control is a token matched only when special tokens are parsed.
type control struct {
	text           string
	id             int
	lstrip, rstrip bool // eats the whitespace before / after it
}

const (
	sentinelOpen  = '\uE000'
	sentinelClose = '\uE001'
)

// NewChatEncoder prepares an encoder for tok and tmpl.
func NewChatEncoder(tok *tokenizer.Tokenizer, tmpl *chat.Template) *ChatEncoder {
	c := &ChatEncoder{tok: tok, tmpl: tmpl}
	for id := 0; id < tok.VocabSize(); id++ {
		typ := tok.TokenType(id)
		if typ != tokenizer.TypeControl && typ != tokenizer.TypeUnknown {
			continue
		}
		text := tok.TokenText(id)
		if sid, ok := tok.SpecialID(text); !ok || sid != id || text == "" {
			continue
		}
		ctl := control{text: text, id: id}
		// Stripping attributes are not exported; a token that swallows an
		// adjacent newline shows them.
		if ids, err := tok.Encode(text+"\n", false, true); err == nil && len(ids) == 1 {
			ctl.rstrip = true
		}
		if ids, err := tok.Encode("\n"+text, false, true); err == nil && len(ids) == 1 {
			ctl.lstrip = true
		}
		c.controls = append(c.controls, ctl)
		c.first[text[0]] = true
	}
	sort.SliceStable(c.controls, func(a, b int) bool { return len(c.controls[a].text) > len(c.controls[b].text) })
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
	var esc escaper
	esc.c = c
	if err := esc.input(&in); err != nil {
		return nil, "", err
	}
	if in.BOS == "" {
		in.BOS = c.bos
	}
	if in.EOS == "" {
		in.EOS = c.eos
	}
	text, err := c.tmpl.Render(in)
	if err != nil {
		return nil, "", err
	}
	ids, err := c.tokenize(text, esc.orig)
	if err != nil {
		return nil, "", err
	}
	if c.tok.AddBOS() && c.tok.BOS() >= 0 && (len(ids) == 0 || ids[0] != c.tok.BOS()) {
		ids = append([]int{c.tok.BOS()}, ids...)
	}
	return ids, restore(text, esc.orig), nil
}

// EncodeTemplateText tokenizes text that a template writes (such as the
// close of a reasoning block): its control-token text becomes special tokens.
func (c *ChatEncoder) EncodeTemplateText(text string) ([]int, error) {
	return c.tokenize(text, nil)
}

// span is a claimed control-token occurrence [start, end) (with the
// whitespace it strips) of the rendered text.
type span struct {
	start, end int
	id         int // -1 for stripped whitespace
}

// tokenize splits text at control tokens, longest first as llama.cpp's
// special-token partition does, and tokenizes the text between them with
// special tokens off, after restoring the sentinels.
func (c *ChatEncoder) tokenize(text string, orig []string) ([]int, error) {
	type occ struct {
		start int
		ctl   *control
	}
	var occs []occ
	for i := 0; i < len(text); i++ {
		if !c.first[text[i]] {
			continue
		}
		for k := range c.controls {
			if strings.HasPrefix(text[i:], c.controls[k].text) {
				occs = append(occs, occ{i, &c.controls[k]})
			}
		}
	}
	sort.SliceStable(occs, func(a, b int) bool { return len(occs[a].ctl.text) > len(occs[b].ctl.text) })
	var claimed []span // sorted by start
	free := func(s, e int) bool {
		k := sort.Search(len(claimed), func(k int) bool { return claimed[k].end > s })
		return k == len(claimed) || claimed[k].start >= e
	}
	insert := func(sp span) {
		k := sort.Search(len(claimed), func(k int) bool { return claimed[k].start > sp.start })
		claimed = append(claimed, span{})
		copy(claimed[k+1:], claimed[k:])
		claimed[k] = sp
	}
	for _, o := range occs {
		end := o.start + len(o.ctl.text)
		if !free(o.start, end) {
			continue
		}
		insert(span{o.start, end, o.ctl.id})
		if o.ctl.lstrip {
			s := o.start
			for s > 0 && isCSpace(text[s-1]) && free(s-1, s) {
				s--
			}
			if s < o.start {
				insert(span{s, o.start, -1})
			}
		}
		if o.ctl.rstrip {
			e := end
			for e < len(text) && isCSpace(text[e]) && free(e, e+1) {
				e++
			}
			if e > end {
				insert(span{end, e, -1})
			}
		}
	}
	var ids []int
	plain := func(s string) error {
		if s == "" {
			return nil
		}
		t, err := c.tok.Encode(restore(s, orig), false, false)
		ids = append(ids, t...)
		return err
	}
	pos := 0
	for _, sp := range claimed {
		if err := plain(text[pos:sp.start]); err != nil {
			return nil, err
		}
		if sp.id >= 0 {
			ids = append(ids, sp.id)
		}
		pos = sp.end
	}
	if err := plain(text[pos:]); err != nil {
		return nil, err
	}
	return ids, nil
}

func isCSpace(b byte) bool { return b == ' ' || (b >= '\t' && b <= '\r') }

// restore replaces the sentinels in s with the text they stand for.
func restore(s string, orig []string) string {
	if len(orig) == 0 || !strings.ContainsRune(s, sentinelOpen) {
		return s
	}
	var sb strings.Builder
	for {
		i := strings.IndexRune(s, sentinelOpen)
		if i < 0 {
			sb.WriteString(s)
			return sb.String()
		}
		sb.WriteString(s[:i])
		rest := s[i+utf8.RuneLen(sentinelOpen):]
		j := strings.IndexRune(rest, sentinelClose)
		n, err := strconv.Atoi(rest[:max(j, 0)])
		if j < 0 || err != nil || n < 0 || n >= len(orig) {
			sb.WriteRune(sentinelOpen) // not ours (cut by the template): keep as is
			s = rest
			continue
		}
		sb.WriteString(orig[n])
		s = rest[j+utf8.RuneLen(sentinelClose):]
	}
}

// escaper replaces control-token text in user strings with sentinels and
// remembers the originals.
type escaper struct {
	c    *ChatEncoder
	orig []string
}

// str escapes one user string.
func (e *escaper) str(s string) string {
	if !e.needs(s) {
		return s
	}
	var sb strings.Builder
	for i := 0; i < len(s); {
		if r, n := utf8.DecodeRuneInString(s[i:]); r == sentinelOpen {
			e.sentinel(&sb, s[i:i+n])
			i += n
			continue
		}
		if e.c.first[s[i]] {
			if k := e.match(s[i:]); k >= 0 {
				t := e.c.controls[k].text
				e.sentinel(&sb, t)
				i += len(t)
				continue
			}
		}
		sb.WriteByte(s[i])
		i++
	}
	return sb.String()
}

func (e *escaper) needs(s string) bool {
	if strings.ContainsRune(s, sentinelOpen) {
		return true
	}
	for i := 0; i < len(s); i++ {
		if e.c.first[s[i]] && e.match(s[i:]) >= 0 {
			return true
		}
	}
	return false
}

// match returns the longest control token s starts with, or -1.
func (e *escaper) match(s string) int {
	for k := range e.c.controls {
		if strings.HasPrefix(s, e.c.controls[k].text) {
			return k
		}
	}
	return -1
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
	if !e.needs(string(raw)) && !bytes.Contains(raw, []byte(`\u`)) {
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
