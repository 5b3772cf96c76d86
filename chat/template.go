package chat

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ardanlabs/jinja"
)

// DefaultTemplateName names Fallback in warnings and listings.
const DefaultTemplateName = "chatml-fallback"

// Fallback is the template used for a model that ships none: plain ChatML
// (<|im_start|>role\ncontent<|im_end|>\n). It is a guess about the model's
// training format, so callers using it should warn the user (see
// Template.IsFallback).
const Fallback = `{%- for message in messages -%}
{{- '<|im_start|>' + message['role'] + '\n' -}}
{%- if message['content'] is string -%}
{{- message['content'] -}}
{%- elif message['content'] is not none -%}
{%- for part in message['content'] -%}{%- if part['type'] == 'text' -%}{{- part['text'] -}}{%- endif -%}{%- endfor -%}
{%- endif -%}
{{- '<|im_end|>\n' -}}
{%- endfor -%}
{%- if add_generation_prompt -%}
{{- '<|im_start|>assistant\n' -}}
{%- endif -%}
`

// Template is a compiled chat template. It is safe for concurrent use.
type Template struct {
	src      string
	tmpl     *jinja.Template
	texts    jinja.Value // the literal text pieces, see prepareSource
	fallback bool
}

// NewTemplate compiles a Jinja chat template source.
func NewTemplate(src string) (*Template, error) {
	prepared, texts := prepareSource(src)
	tmpl, err := compile(prepared)
	if err != nil {
		return nil, fmt.Errorf("chat: compile template: %w", err)
	}
	items := make([]jinja.Value, len(texts))
	for i, s := range texts {
		items[i] = jinja.NewString(s)
	}
	return &Template{src: src, tmpl: tmpl, texts: jinja.NewList(items)}, nil
}

// compile calls the jinja compiler, turning a panic on malformed input into
// an error: a template comes from a model file and is untrusted.
func compile(src string) (t *jinja.Template, err error) {
	defer func() {
		if r := recover(); r != nil {
			t, err = nil, fmt.Errorf("jinja panicked: %v", r)
		}
	}()
	return jinja.Compile(src)
}

// ForModel returns the template for a model whose metadata holds src
// (tokenizer.chat_template; "" when absent). An absent or blank template
// yields Fallback, with IsFallback reporting true so that the caller can
// warn.
func ForModel(src string) (*Template, error) {
	if strings.TrimSpace(src) == "" {
		t, err := NewTemplate(Fallback)
		if err != nil {
			return nil, err
		}
		t.fallback = true
		return t, nil
	}
	return NewTemplate(src)
}

// Source returns the template source as given.
func (t *Template) Source() string { return t.src }

// IsFallback reports whether t is Fallback chosen by ForModel because the
// model has no template of its own.
func (t *Template) IsFallback() bool { return t.fallback }

// Name is DefaultTemplateName for the fallback and "model" otherwise.
func (t *Template) Name() string {
	if t.fallback {
		return DefaultTemplateName
	}
	return "model"
}

// Input is what a chat template is rendered with. The zero value renders an
// empty conversation with no tools.
type Input struct {
	// Messages is the conversation in typed form. It is ignored when
	// RawMessages is set.
	Messages []Message
	// RawMessages, when non-nil, is the conversation as a JSON array of
	// message objects (e.g. straight from an OpenAI request). Object key
	// order is kept, numbers stay integers or floats as in Python, and any
	// field a template reads (content parts, prefix, ...) passes through.
	RawMessages json.RawMessage
	// Tools are tool definitions, one JSON object each
	// ({"type": "function", "function": {...}}), passed to the template
	// as `tools` with key order kept. nil means tools is none; an empty
	// non-nil slice is an empty list, as in transformers.
	Tools []json.RawMessage
	// AddGenerationPrompt asks the template to end with the opening of an
	// assistant turn.
	AddGenerationPrompt bool
	// BOS and EOS are the model's special token strings, exposed as
	// bos_token and eos_token when non-empty (undefined otherwise, as
	// transformers leaves an unset token out).
	BOS, EOS string
	// Vars are extra template variables (enable_thinking, date_string,
	// ...). They are set last, so they may override anything above,
	// including bos_token. Values may be nil, bool, numbers, string,
	// json.RawMessage (decoded with key order kept), slices and maps with
	// string keys (in sorted key order).
	Vars map[string]any
	// KeepArgumentStrings passes tool-call arguments that are JSON strings
	// (the OpenAI wire form, "{\"city\": \"Paris\"}") to the template as
	// strings. By default a string that holds a JSON object is decoded to
	// that object, as vLLM and llama.cpp do, because templates print
	// arguments with tojson and models are trained on that rendering.
	KeepArgumentStrings bool
	// Now is the clock for strftime_now; nil means time.Now.
	Now func() time.Time
}

// Message is one conversation turn in typed form. Empty optional fields are
// left out of the message the template sees, so that tests like
// `message.reasoning_content is defined` or `'tool_calls' in message`
// behave as with an OpenAI request that omits them.
type Message struct {
	Role             string     `json:"role"`
	Content          string     `json:"content"`
	ReasoningContent string     `json:"reasoning_content,omitempty"`
	ToolCalls        []ToolCall `json:"tool_calls,omitempty"`
	ToolCallID       string     `json:"tool_call_id,omitempty"`
	Name             string     `json:"name,omitempty"`
}

// ToolCall is one call of a tool, in OpenAI's shape.
type ToolCall struct {
	ID       string           `json:"id,omitempty"`
	Type     string           `json:"type"` // "function"
	Function ToolCallFunction `json:"function"`
}

// ToolCallFunction names the function called and its arguments.
type ToolCallFunction struct {
	Name string `json:"name"`
	// Arguments is JSON text, normally an object, kept byte-for-byte as
	// the model wrote it (so key order is kept). On the OpenAI wire it is
	// a JSON string holding this text.
	Arguments string `json:"arguments"`
}

// UnmarshalJSON accepts arguments both as the OpenAI wire form (a JSON
// string holding JSON text) and as a JSON object or other value (the Ollama
// form), whose raw text is kept as written.
func (f *ToolCallFunction) UnmarshalJSON(data []byte) error {
	var w struct {
		Name      string          `json:"name"`
		Arguments json.RawMessage `json:"arguments"`
	}
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	f.Name = w.Name
	f.Arguments = ""
	if len(w.Arguments) > 0 && w.Arguments[0] == '"' {
		return json.Unmarshal(w.Arguments, &f.Arguments)
	}
	if string(w.Arguments) != "null" {
		f.Arguments = string(w.Arguments)
	}
	return nil
}

// Render renders the template with in. Errors name the failing part of
// the input, or carry the template's own message (raise_exception).
func (t *Template) Render(in Input) (string, error) {
	data, err := in.values()
	if err != nil {
		return "", fmt.Errorf("chat: %w", err)
	}
	data[textVar] = t.texts
	out, err := t.render(data)
	if err != nil {
		return "", fmt.Errorf("chat: render template: %w", err)
	}
	return out, nil
}

func (t *Template) render(data map[string]jinja.Value) (s string, err error) {
	defer func() {
		if r := recover(); r != nil {
			s, err = "", fmt.Errorf("jinja panicked: %v", r)
		}
	}()
	return t.tmpl.RenderValues(data)
}

// values builds the template's variables from in.
func (in *Input) values() (map[string]jinja.Value, error) {
	var messages jinja.Value
	if in.RawMessages != nil {
		v, err := decodeJSON(in.RawMessages)
		if err != nil {
			return nil, fmt.Errorf("messages: %w", err)
		}
		if !v.IsList() {
			return nil, fmt.Errorf("messages: want a JSON array, got %s", kindName(v))
		}
		for i, m := range v.AsList().Items {
			if !m.IsDict() {
				return nil, fmt.Errorf("messages[%d]: want an object, got %s", i, kindName(m))
			}
		}
		messages = v
	} else {
		items := make([]jinja.Value, len(in.Messages))
		for i, m := range in.Messages {
			items[i] = m.value()
		}
		messages = jinja.NewList(items)
	}
	if !in.KeepArgumentStrings {
		decodeArguments(messages)
	}

	tools := jinja.None()
	if in.Tools != nil {
		items := make([]jinja.Value, len(in.Tools))
		for i, raw := range in.Tools {
			v, err := decodeJSON(raw)
			if err != nil {
				return nil, fmt.Errorf("tools[%d]: %w", i, err)
			}
			items[i] = v
		}
		tools = jinja.NewList(items)
	}

	now := in.Now
	if now == nil {
		now = time.Now
	}
	data := map[string]jinja.Value{
		"messages":              messages,
		"tools":                 tools,
		"add_generation_prompt": jinja.NewBool(in.AddGenerationPrompt),
		"raise_exception":       jinja.NewCallable("raise_exception", raiseException),
		"strftime_now": jinja.NewCallable("strftime_now", func(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
			if len(args) != 1 || !args[0].IsString() {
				return jinja.Undefined(), errors.New("strftime_now: want one format string")
			}
			return jinja.NewString(strftime(args[0].AsString(), now())), nil
		}),
	}
	for name, fn := range overrides() {
		data[name] = jinja.NewCallable(name, fn)
	}
	if in.BOS != "" {
		data["bos_token"] = jinja.NewString(in.BOS)
	}
	if in.EOS != "" {
		data["eos_token"] = jinja.NewString(in.EOS)
	}
	for k, v := range in.Vars {
		x, err := toValue(v)
		if err != nil {
			return nil, fmt.Errorf("variable %s: %w", k, err)
		}
		data[k] = x
	}
	return data, nil
}

// raiseException is the raise_exception global of transformers' templates.
func raiseException(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
	if len(args) == 0 {
		return jinja.Undefined(), errors.New("template raised an exception")
	}
	msg := args[0].String()
	if args[0].IsString() {
		msg = args[0].AsString()
	}
	return jinja.Undefined(), fmt.Errorf("template raised: %s", msg)
}

// value converts a typed message to the dict a template sees.
func (m *Message) value() jinja.Value {
	v := jinja.NewDict()
	d := v.AsDict()
	d.Set("role", jinja.NewString(m.Role))
	d.Set("content", jinja.NewString(m.Content))
	if m.ReasoningContent != "" {
		d.Set("reasoning_content", jinja.NewString(m.ReasoningContent))
	}
	if len(m.ToolCalls) > 0 {
		calls := make([]jinja.Value, len(m.ToolCalls))
		for i, tc := range m.ToolCalls {
			c := jinja.NewDict()
			if tc.ID != "" {
				c.AsDict().Set("id", jinja.NewString(tc.ID))
			}
			typ := tc.Type
			if typ == "" {
				typ = "function"
			}
			c.AsDict().Set("type", jinja.NewString(typ))
			f := jinja.NewDict()
			f.AsDict().Set("name", jinja.NewString(tc.Function.Name))
			f.AsDict().Set("arguments", jinja.NewString(tc.Function.Arguments))
			c.AsDict().Set("function", f)
			calls[i] = c
		}
		d.Set("tool_calls", jinja.NewList(calls))
	}
	if m.ToolCallID != "" {
		d.Set("tool_call_id", jinja.NewString(m.ToolCallID))
	}
	if m.Name != "" {
		d.Set("name", jinja.NewString(m.Name))
	}
	return v
}

// decodeArguments replaces tool-call arguments given as a string holding a
// JSON object with that object, in every message of messages.
func decodeArguments(messages jinja.Value) {
	for _, m := range messages.AsList().Items {
		calls, ok := m.AsDict().Get("tool_calls")
		if !ok || !calls.IsList() {
			continue
		}
		for _, c := range calls.AsList().Items {
			if !c.IsDict() {
				continue
			}
			f, ok := c.AsDict().Get("function")
			if !ok || !f.IsDict() {
				continue
			}
			args, ok := f.AsDict().Get("arguments")
			if !ok || !args.IsString() {
				continue
			}
			if obj, err := decodeJSON([]byte(args.AsString())); err == nil && obj.IsDict() {
				f.AsDict().Set("arguments", obj)
			}
		}
	}
}
