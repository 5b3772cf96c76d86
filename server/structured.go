package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/qilin-ai/qilin/grammar"
)

// structuredFields are the request fields that constrain the answer
// (OpenAI's response_format; llama-server's grammar and json_schema).
type structuredFields struct {
	ResponseFormat *responseFormat `json:"response_format"`
	// Grammar is a GBNF grammar (llama.cpp's format) for the answer.
	Grammar *string `json:"grammar"`
	// JSONSchema is a JSON Schema for the answer, as llama-server takes it.
	JSONSchema json.RawMessage `json:"json_schema"`
}

// responseFormat is OpenAI's response_format: {"type": "text"},
// {"type": "json_object"} or {"type": "json_schema", "json_schema": {...}}.
type responseFormat struct {
	Type       string          `json:"type"`
	JSONSchema *jsonSchemaSpec `json:"json_schema"`
}

// jsonSchemaSpec is response_format.json_schema. Answers always follow the
// schema; strict only says the client wants that.
type jsonSchemaSpec struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Schema      json.RawMessage `json:"schema"`
	Strict      *bool           `json:"strict,omitempty"`
}

// Grammar kinds, the first half of a grammar cache key.
const (
	kindSchema = "schema" // JSON Schema text
	kindGBNF   = "gbnf"   // GBNF text
)

// anyObject is the schema of json_object and Ollama's format "json".
const anyObject = `{"type":"object"}`

// constraint is the grammar a request asks for: its kind, its source and
// the request field it came from (for errors).
type constraint struct {
	kind, src, param string
}

// constraints returns the constraint the fields ask for, nil for none; at
// most one of them may be given.
func (f *structuredFields) constraint() (*constraint, *apiError) {
	var out []*constraint
	if rf := f.ResponseFormat; rf != nil {
		switch rf.Type {
		case "", "text":
		case "json_object":
			out = append(out, &constraint{kindSchema, anyObject, "response_format"})
		case "json_schema":
			if rf.JSONSchema == nil {
				return nil, badRequest("response_format.json_schema", "required for type json_schema: {\"name\": ..., \"schema\": {...}}")
			}
			c, aerr := schemaConstraint(rf.JSONSchema.Schema, "response_format.json_schema.schema")
			if aerr != nil {
				return nil, aerr
			}
			out = append(out, c)
		default:
			return nil, badRequest("response_format.type", "%q is not text, json_object or json_schema", rf.Type)
		}
	}
	if f.Grammar != nil && strings.TrimSpace(*f.Grammar) != "" {
		out = append(out, &constraint{kindGBNF, *f.Grammar, "grammar"})
	}
	if present(f.JSONSchema) {
		c, aerr := schemaConstraint(f.JSONSchema, "json_schema")
		if aerr != nil {
			return nil, aerr
		}
		out = append(out, c)
	}
	switch len(out) {
	case 0:
		return nil, nil
	case 1:
		return out[0], nil
	}
	return nil, badRequest(out[1].param, "cannot be combined with %s: give one constraint", out[0].param)
}

// present reports whether a raw field is given and not null.
func present(raw json.RawMessage) bool {
	s := strings.TrimSpace(string(raw))
	return s != "" && s != "null"
}

// schemaConstraint checks that raw is a JSON object or boolean and keys
// it by its compact text.
func schemaConstraint(raw json.RawMessage, param string) (*constraint, *apiError) {
	if !present(raw) {
		return &constraint{kindSchema, anyObject, param}, nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return nil, badRequest(param, "not valid JSON: %v", err)
	}
	if c := buf.Bytes()[0]; c != '{' && c != 't' && c != 'f' {
		return nil, badRequest(param, "want a JSON Schema object")
	}
	return &constraint{kindSchema, buf.String(), param}, nil
}

// compile returns the grammar of c, compiled once per server.
func (s *Server) compile(c *constraint) (*grammar.Grammar, *apiError) {
	g, err := s.grammars.Get(c.kind, c.src, func(src string) (*grammar.Grammar, error) {
		if c.kind == kindGBNF {
			return grammar.Parse(src)
		}
		return grammar.FromJSONSchema([]byte(src))
	})
	if err != nil {
		return nil, grammarError(c.param, err)
	}
	return g, nil
}

// grammarError is the 400 for a grammar or schema that does not compile;
// a schema's unsupported keyword is named, with where it is.
func grammarError(param string, err error) *apiError {
	var se *grammar.SchemaError
	if errors.As(err, &se) {
		msg := se.Msg
		if se.Keyword != "" {
			msg = fmt.Sprintf("keyword %q: %s", se.Keyword, se.Msg)
		}
		if se.Path != "" {
			msg += " (at " + se.Path + ")"
		}
		return badRequest(param, "%s", msg)
	}
	return badRequest(param, "%s", strings.TrimPrefix(err.Error(), "grammar: "))
}

// toolMode is a chat request's tool_choice: whether the tools are offered
// to the model, and whether a call is required (of Name, when set).
type toolMode struct {
	offer, required bool
	name            string
}

// parseToolChoice reads tool_choice: "auto" (the default), "none",
// "required", or {"type": "function", "function": {"name": ...}}.
func parseToolChoice(raw json.RawMessage) (toolMode, *apiError) {
	if !present(raw) {
		return toolMode{offer: true}, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		switch s {
		case "auto":
			return toolMode{offer: true}, nil
		case "none":
			return toolMode{}, nil
		case "required":
			return toolMode{offer: true, required: true}, nil
		}
		return toolMode{}, badRequest("tool_choice", "%q is not auto, none or required", s)
	}
	var named struct {
		Type     string `json:"type"`
		Function *struct {
			Name string `json:"name"`
		} `json:"function"`
	}
	if err := json.Unmarshal(raw, &named); err != nil || named.Type != "function" || named.Function == nil || named.Function.Name == "" {
		return toolMode{}, badRequest("tool_choice", "want \"auto\", \"none\", \"required\" or {\"type\": \"function\", \"function\": {\"name\": ...}}")
	}
	return toolMode{offer: true, required: true, name: named.Function.Name}, nil
}

// callableName is a function name a constrained call can write as it is,
// in every tool-call format.
var callableName = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,128}$`)

// toolConstraint returns the grammar source for a required tool call: the
// model's tool-call wire form (say Qwen's <tool_call>{"name": ...,
// "arguments": ...}</tool_call>) around arguments that follow the
// function's parameters schema, for each tool allowed (only the named one
// when tm.name is set).
func (s *Server) toolConstraint(m *model, tools []json.RawMessage, tm toolMode) (*constraint, *apiError) {
	if len(tools) == 0 {
		return nil, badRequest("tool_choice", "a tool call is required but no tools are given")
	}
	var alts []string
	var schemas []grammar.NamedSchema
	params := map[string]int{} // rule -> index in tools
	for i, raw := range tools {
		var t toolDef
		json.Unmarshal(raw, &t) // checked by parseChatRequest
		if tm.name != "" && t.Function.Name != tm.name {
			continue
		}
		if !callableName.MatchString(t.Function.Name) {
			return nil, badRequest(fmt.Sprintf("tools[%d].function.name", i), "%q: a required call needs a name of letters, digits and _.:-", t.Function.Name)
		}
		before, after, ok := m.tools.CallText(m.e.Template().Source(), t.Function.Name)
		if !ok {
			return nil, badRequest("tool_choice", "this model's chat template has no tool-call format that qilin parses, so a call cannot be required")
		}
		schema := []byte(anyObject)
		if present(t.Function.Parameters) {
			schema = t.Function.Parameters
		}
		rule := "tool-" + strconv.Itoa(i) + "-arguments"
		params[rule] = i
		schemas = append(schemas, grammar.NamedSchema{Rule: rule, Schema: schema})
		alts = append(alts, grammar.Literal(before)+" "+rule+" "+grammar.Literal(after))
	}
	if len(alts) == 0 {
		return nil, badRequest("tool_choice", "no tool is named %q", tm.name)
	}
	src, err := grammar.SchemasToGBNF(strings.Join(alts, " | "), schemas...)
	if err != nil {
		var se *grammar.SchemaError
		if errors.As(err, &se) && se.Rule != "" {
			return nil, grammarError(fmt.Sprintf("tools[%d].function.parameters", params[se.Rule]), err)
		}
		return nil, grammarError("tools", err)
	}
	return &constraint{kindGBNF, src, "tools"}, nil
}

// ollamaFormat reads Ollama's format: "json" (any JSON object) or a JSON
// Schema object; absent, null or "" mean none.
func ollamaFormat(raw json.RawMessage) (*constraint, *apiError) {
	if !present(raw) {
		return nil, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		switch s {
		case "":
			return nil, nil
		case "json":
			return &constraint{kindSchema, anyObject, "format"}, nil
		}
		return nil, badRequest("format", "%q is not \"json\" or a JSON Schema object", s)
	}
	return schemaConstraint(raw, "format")
}

// constrainChat sets the grammar of a chat request: a required tool call
// (tools, as offered), or the answer's format; never both.
func (s *Server) constrainChat(m *model, job *genJob, req *chatRequest, tools []json.RawMessage, tm toolMode) *apiError {
	c, aerr := req.constraint()
	if aerr != nil {
		return aerr
	}
	if tm.required {
		if c != nil {
			return badRequest(c.param, "cannot be combined with a required tool call (tool_choice)")
		}
		if c, aerr = s.toolConstraint(m, tools, tm); aerr != nil {
			return aerr
		}
	}
	return s.setGrammar(m, job, c)
}

// setGrammar compiles c (nil: none) into job, checking that the grammar's
// <token> terminals are in m's vocabulary.
func (s *Server) setGrammar(m *model, job *genJob, c *constraint) *apiError {
	if c == nil {
		return nil
	}
	g, aerr := s.compile(c)
	if aerr != nil {
		return aerr
	}
	if _, err := m.e.Constrain(g); err != nil {
		return badRequest(c.param, "%s", strings.TrimPrefix(err.Error(), "engine: grammar: grammar: "))
	}
	job.grammar = g
	return nil
}
