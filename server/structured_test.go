package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/shared"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// boundedSchemas are schemas every instance of which is short (strings
// and arrays bounded), so that a random-weight model, held to them, must
// end within the token limit. Between them they use the keywords the
// compiler covers.
var boundedSchemas = []struct{ name, schema string }{
	{"object", `{"type":"object","properties":{"name":{"type":"string","maxLength":12},"age":{"type":"integer","minimum":0,"maximum":150},"born":{"type":"string","format":"date"}},"required":["name","age"],"additionalProperties":false}`},
	{"enum-const-bool", `{"type":"object","properties":{"status":{"enum":["new","paid","shipped"]},"v":{"const":2},"ok":{"type":"boolean"}},"required":["status","v","ok"],"additionalProperties":false}`},
	{"array", `{"type":"array","items":{"type":"integer","minimum":-5,"maximum":5},"minItems":1,"maxItems":4}`},
	{"type-list", `{"type":["string","null"],"maxLength":6}`},
	{"anyOf", `{"anyOf":[{"type":"string","minLength":1,"maxLength":5},{"type":"integer","minimum":10,"maximum":999},{"type":"null"}]}`},
	{"ref-defs", `{"type":"object","properties":{"a":{"$ref":"#/$defs/pt"},"b":{"$ref":"#/$defs/pt"}},"required":["a"],"additionalProperties":false,"$defs":{"pt":{"type":"object","properties":{"x":{"type":"integer","minimum":0,"maximum":9},"y":{"type":"integer","minimum":0,"maximum":9}},"required":["x","y"],"additionalProperties":false}}}`},
	{"prefixItems-formats-pattern", `{"type":"array","prefixItems":[{"type":"string","format":"date"},{"type":"string","format":"uuid"},{"type":"string","pattern":"^[A-Z]{3}-[0-9]{2}$"},{"type":"string","format":"time"}],"items":false,"minItems":3}`},
	{"numbers", `{"type":"object","properties":{"price":{"type":"number"},"qty":{"type":"integer","exclusiveMinimum":0,"maximum":99}},"required":["price","qty"],"additionalProperties":false}`},
	{"allOf", `{"allOf":[{"type":"object","properties":{"id":{"type":"integer","minimum":1,"maximum":9}},"required":["id"]},{"type":"object","properties":{"tag":{"enum":["x","y"]}},"required":["tag"]}]}`},
	{"nested", `{"type":"object","properties":{"user":{"type":"object","properties":{"id":{"type":"string","format":"uuid"},"roles":{"type":"array","items":{"enum":["admin","dev"]},"maxItems":2}},"required":["id","roles"],"additionalProperties":false},"when":{"type":"string","format":"date-time"}},"required":["user"],"additionalProperties":false}`},
}

// compileSchema compiles schema with an independent JSON Schema
// implementation (santhosh-tekuri/jsonschema, test-only), formats asserted.
func compileSchema(t testing.TB, schema string) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(schema))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource("schema.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// validates fails t unless text is one JSON value valid against s.
func validates(t testing.TB, s *jsonschema.Schema, text, what string) {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(strings.NewReader(text))
	if err != nil || !json.Valid([]byte(text)) {
		t.Errorf("%s: not JSON: %q", what, text)
		return
	}
	if err := s.Validate(inst); err != nil {
		t.Errorf("%s: %q does not validate: %v", what, text, err)
	}
}

// chatBody is a raw chat request for the test model with extra fields.
func chatBody(t testing.TB, temp float64, stream bool, extra map[string]any) string {
	t.Helper()
	req := map[string]any{"model": "test-model", "max_tokens": 300, "temperature": temp, "seed": 7, "stream": stream,
		"messages": []map[string]string{{"role": "user", "content": "Give me the data."}}}
	for k, v := range extra {
		req[k] = v
	}
	b, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// chatAnswer posts a chat request and returns the answer's content, the
// number of reasoning tokens (not streamed only) and the finish reason,
// read from the JSON response or the stream.
func chatAnswer(t testing.TB, ts *testServer, body string, stream bool) (content string, reasoning int, finish string) {
	t.Helper()
	status, _, resp := ts.post(t, "/v1/chat/completions", body)
	if status != 200 {
		t.Fatalf("status %d: %s", status, resp)
	}
	if !stream {
		var r struct {
			Choices []struct {
				Message struct {
					Content *string `json:"content"`
				} `json:"message"`
				FinishReason string `json:"finish_reason"`
			} `json:"choices"`
			Usage usage `json:"usage"`
		}
		if err := json.Unmarshal(resp, &r); err != nil || len(r.Choices) != 1 || r.Choices[0].Message.Content == nil {
			t.Fatalf("response %s: %v", resp, err)
		}
		c := r.Choices[0]
		return *c.Message.Content, r.Usage.CompletionTokensDetails.ReasoningTokens, c.FinishReason
	}
	for _, line := range strings.Split(string(resp), "\n") {
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok || data == "[DONE]" {
			continue
		}
		var ch struct {
			Choices []struct {
				Delta struct {
					Content *string `json:"content"`
				} `json:"delta"`
				FinishReason *string `json:"finish_reason"`
			} `json:"choices"`
		}
		if err := json.Unmarshal([]byte(data), &ch); err != nil {
			t.Fatalf("chunk %q: %v", data, err)
		}
		for _, c := range ch.Choices {
			if c.Delta.Content != nil {
				content += *c.Delta.Content
			}
			if c.FinishReason != nil {
				finish = *c.FinishReason
			}
		}
	}
	return content, reasoning, finish
}

// TestResponseFormatSchemas: a random-weight model (its free output is
// garbage) answers every schema with a valid instance, at temperature 0
// and 1, streamed and not, with its reasoning closed at once (R1
// template, a budget of 0), left free for a few tokens, or off (Qwen3).
func TestResponseFormatSchemas(t *testing.T) {
	r1 := startServer(t, modelR1, Options{})
	qwen3 := startServer(t, modelQwen3, Options{})
	runs := []struct {
		name  string
		ts    *testServer
		extra map[string]any
	}{
		{"r1-budget0", r1, map[string]any{"thinking_budget_tokens": 0}},
		{"r1-budget6", r1, map[string]any{"thinking_budget_tokens": 6}},
		{"qwen3-nothink", qwen3, map[string]any{"reasoning_effort": "none"}},
		// Thinking on: the output may open <think> before the answer.
		{"qwen3-think", qwen3, map[string]any{"thinking_budget_tokens": 4}},
	}
	for _, sc := range boundedSchemas {
		v := compileSchema(t, sc.schema)
		for _, run := range runs {
			for _, temp := range []float64{0, 1} {
				for _, stream := range []bool{false, true} {
					what := fmt.Sprintf("%s/%s/T=%g/stream=%v", sc.name, run.name, temp, stream)
					extra := map[string]any{"response_format": map[string]any{"type": "json_schema",
						"json_schema": map[string]any{"name": "data", "strict": true, "schema": json.RawMessage(sc.schema)}}}
					for k, x := range run.extra {
						extra[k] = x
					}
					content, reasoning, finish := chatAnswer(t, run.ts, chatBody(t, temp, stream, extra), stream)
					if finish != "stop" {
						t.Errorf("%s: finish %q, want stop (content %q)", what, finish, content)
					}
					validates(t, v, content, what)
					// The budget's 6 free tokens and its forced close.
					if run.name == "r1-budget6" && !stream && reasoning < 6 {
						t.Errorf("%s: %d reasoning tokens before the answer, want the budget's", what, reasoning)
					}
				}
			}
		}
	}
	if n := r1.grammars.Len(); n != len(boundedSchemas) {
		t.Errorf("r1 server holds %d compiled grammars for %d schemas", n, len(boundedSchemas))
	}
}

// TestGrammarField: llama-server's grammar (GBNF) and json_schema fields,
// and json_object, on chat and plain completions.
func TestGrammarField(t *testing.T) {
	ts := startServer(t, modelR1, Options{})
	gbnf := `root ::= ("yes" | "no") " " [0-9]{2}`
	for _, temp := range []float64{0, 1} {
		for _, stream := range []bool{false, true} {
			content, _, finish := chatAnswer(t, ts, chatBody(t, temp, stream, map[string]any{"grammar": gbnf, "thinking_budget_tokens": 0}), stream)
			if ok, _ := regexp.MatchString(`^(yes|no) [0-9]{2}$`, content); !ok || finish != "stop" {
				t.Errorf("grammar T=%g stream=%v: %q (%s)", temp, stream, content, finish)
			}
			schema := boundedSchemas[1].schema
			content, _, _ = chatAnswer(t, ts, chatBody(t, temp, stream, map[string]any{"json_schema": json.RawMessage(schema), "thinking_budget_tokens": 0}), stream)
			validates(t, compileSchema(t, schema), content, "json_schema field")
		}
	}
	// json_object: any object; a random model may fill it without end, so
	// what it wrote must at least open an object, and a finished one parse.
	content, _, finish := chatAnswer(t, ts, chatBody(t, 0, false, map[string]any{"response_format": map[string]string{"type": "json_object"}, "thinking_budget_tokens": 0}), false)
	var obj map[string]any
	if !strings.HasPrefix(content, "{") || (finish == "stop" && json.Unmarshal([]byte(content), &obj) != nil) {
		t.Errorf("json_object: %q (%s)", content, finish)
	}
	// Plain completions take the same fields.
	status, _, resp := ts.post(t, "/v1/completions", `{"prompt":"The answer:","max_tokens":20,"temperature":1,"n":2,"grammar":"root ::= [a-c]{3} \".\""}`)
	var cr struct {
		Choices []struct{ Text string } `json:"choices"`
	}
	if status != 200 || json.Unmarshal(resp, &cr) != nil || len(cr.Choices) != 2 {
		t.Fatalf("completions: %d %s", status, resp)
	}
	for _, c := range cr.Choices {
		if ok, _ := regexp.MatchString(`^[a-c]{3}\.$`, c.Text); !ok {
			t.Errorf("completion %q does not follow the grammar", c.Text)
		}
	}
}

// TestStructuredErrors: what cannot be compiled or combined is a 400
// naming the field and, for a schema, the keyword.
func TestStructuredErrors(t *testing.T) {
	ts := startServer(t, modelR1, Options{})
	tool := `[{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":{"a":{"type":"string"}}}}}]`
	cases := []struct {
		name, path, body, param, want string
	}{
		{"unsupported keyword", "/v1/chat/completions", `{"messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_schema","json_schema":{"name":"n","schema":{"type":"object","patternProperties":{"a":{}}}}}}`, "response_format.json_schema.schema", `"patternProperties"`},
		{"nested unsupported", "/v1/chat/completions", `{"messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_schema","json_schema":{"name":"n","schema":{"type":"object","properties":{"n":{"type":"integer","multipleOf":3}}}}}}`, "response_format.json_schema.schema", `"multipleOf"`},
		{"bad type", "/v1/chat/completions", `{"messages":[{"role":"user","content":"x"}],"response_format":{"type":"yaml"}}`, "response_format.type", "yaml"},
		{"no json_schema", "/v1/chat/completions", `{"messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_schema"}}`, "response_format.json_schema", "required"},
		{"bad gbnf", "/v1/chat/completions", `{"messages":[{"role":"user","content":"x"}],"grammar":"root ::= (\"a\""}`, "grammar", ""},
		{"no root", "/v1/chat/completions", `{"messages":[{"role":"user","content":"x"}],"grammar":"r ::= \"a\""}`, "grammar", "root"},
		{"missing token", "/v1/chat/completions", `{"messages":[{"role":"user","content":"x"}],"grammar":"root ::= <no-such-token>"}`, "grammar", "no-such-token"},
		{"two constraints", "/v1/chat/completions", `{"messages":[{"role":"user","content":"x"}],"grammar":"root ::= \"a\"","response_format":{"type":"json_object"}}`, "grammar", "combined"},
		{"required and format", "/v1/chat/completions", `{"messages":[{"role":"user","content":"x"}],"tools":` + tool + `,"tool_choice":"required","response_format":{"type":"json_object"}}`, "response_format", "tool"},
		{"required no tools", "/v1/chat/completions", `{"messages":[{"role":"user","content":"x"}],"tool_choice":"required"}`, "tool_choice", "no tools"},
		{"unknown function", "/v1/chat/completions", `{"messages":[{"role":"user","content":"x"}],"tools":` + tool + `,"tool_choice":{"type":"function","function":{"name":"g"}}}`, "tool_choice", `"g"`},
		{"bad tool_choice", "/v1/chat/completions", `{"messages":[{"role":"user","content":"x"}],"tool_choice":"sometimes"}`, "tool_choice", "sometimes"},
		{"bad parameters", "/v1/chat/completions", `{"messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","not":{}}}}],"tool_choice":"required"}`, "tools[0].function.parameters", `"not"`},
		{"completions schema", "/v1/completions", `{"prompt":"x","json_schema":{"if":{}}}`, "json_schema", `"if"`},
		{"ollama format", "/api/chat", `{"model":"test-model","messages":[{"role":"user","content":"x"}],"format":"yaml"}`, "format", "yaml"},
		{"ollama schema", "/api/generate", `{"model":"test-model","prompt":"x","format":{"type":"object","contains":{}}}`, "format", `"contains"`},
	}
	for _, c := range cases {
		status, _, body := ts.post(t, c.path, c.body)
		if status != 400 {
			t.Errorf("%s: status %d, want 400: %s", c.name, status, body)
			continue
		}
		var msg string
		if strings.HasPrefix(c.path, "/api/") {
			var e struct{ Error string }
			json.Unmarshal(body, &e)
			msg = e.Error
			if !strings.HasPrefix(msg, c.param+":") {
				t.Errorf("%s: error %q does not name %s", c.name, msg, c.param)
			}
		} else {
			e := openAIError(t, body)
			msg = e.Message
			if e.Param != c.param {
				t.Errorf("%s: param %q, want %q (%s)", c.name, e.Param, c.param, msg)
			}
		}
		if !strings.Contains(msg, c.want) {
			t.Errorf("%s: error %q does not contain %s", c.name, msg, c.want)
		}
	}
}

// TestSDKStructured: through the openai-go SDK, response_format
// json_schema answers validate, and tool_choice required or named makes a
// call to a tool with arguments valid against its parameters, in the
// tool-call form of each template (DeepSeek-R1's, Qwen3's), streamed and
// not.
func TestSDKStructured(t *testing.T) {
	weather := `{"type":"object","properties":{"city":{"type":"string","maxLength":10},"unit":{"enum":["C","F"]}},"required":["city","unit"],"additionalProperties":false}`
	clock := `{"type":"object","properties":{"zone":{"type":"string","pattern":"^[A-Z]{3}$"}},"required":["zone"],"additionalProperties":false}`
	params := map[string]string{"get_weather": weather, "get_time": clock}
	var tools []openai.ChatCompletionToolUnionParam
	for _, name := range []string{"get_weather", "get_time"} {
		var p shared.FunctionParameters
		if err := json.Unmarshal([]byte(params[name]), &p); err != nil {
			t.Fatal(err)
		}
		tools = append(tools, openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{Name: name, Parameters: p}))
	}
	for _, run := range []struct {
		model string
		extra map[string]any
	}{{modelR1, map[string]any{"thinking_budget_tokens": 0}}, {modelQwen3, map[string]any{"reasoning_effort": "none"}}} {
		ts := startServer(t, run.model, Options{})
		c := ts.client()
		var schema map[string]any
		json.Unmarshal([]byte(boundedSchemas[0].schema), &schema)
		v := compileSchema(t, boundedSchemas[0].schema)
		for _, temp := range []float64{0, 1} {
			p := chatParams("Who?", 300)
			p.Temperature = openai.Float(temp)
			p.Seed = openai.Int(3)
			p.SetExtraFields(run.extra)
			p.ResponseFormat = openai.ChatCompletionNewParamsResponseFormatUnion{OfJSONSchema: &shared.ResponseFormatJSONSchemaParam{
				JSONSchema: shared.ResponseFormatJSONSchemaJSONSchemaParam{Name: "person", Strict: openai.Bool(true), Schema: schema}}}
			resp, err := c.Chat.Completions.New(context.Background(), p)
			if err != nil {
				t.Fatalf("%s: %v", run.model, err)
			}
			what := fmt.Sprintf("%s T=%g", run.model, temp)
			validates(t, v, resp.Choices[0].Message.Content, what)
			s := streamChat(t, c, p)
			validates(t, v, s.content, what+" streamed")

			p.ResponseFormat = openai.ChatCompletionNewParamsResponseFormatUnion{}
			p.Tools = tools
			for _, choice := range []openai.ChatCompletionToolChoiceOptionUnionParam{
				{OfAuto: openai.String("required")},
				openai.ToolChoiceOptionFunctionToolChoice(openai.ChatCompletionNamedToolChoiceFunctionParam{Name: "get_time"}),
			} {
				p.ToolChoice = choice
				resp, err := c.Chat.Completions.New(context.Background(), p)
				if err != nil {
					t.Fatalf("%s: %v", what, err)
				}
				ch := resp.Choices[0]
				if ch.FinishReason != "tool_calls" || len(ch.Message.ToolCalls) != 1 {
					t.Errorf("%s: finish %q, calls %+v, content %q", what, ch.FinishReason, ch.Message.ToolCalls, ch.Message.Content)
					continue
				}
				call := ch.Message.ToolCalls[0].Function
				if choice.OfFunctionToolChoice != nil && call.Name != "get_time" {
					t.Errorf("%s: called %q, want get_time", what, call.Name)
				}
				if params[call.Name] == "" {
					t.Errorf("%s: called unknown %q", what, call.Name)
					continue
				}
				validates(t, compileSchema(t, params[call.Name]), call.Arguments, what+" "+call.Name)
				s := streamChat(t, c, p)
				if s.finish != "tool_calls" || len(s.calls) != 1 || s.calls[0].Function.Name != call.Name || s.calls[0].Function.Arguments != call.Arguments {
					t.Errorf("%s: streamed finish %q calls %+v, want the same call as %+v", what, s.finish, s.calls, call)
				}
			}
		}
	}
}

// TestOllamaFormat: Ollama's format, "json" or a schema, on /api/chat and
// /api/generate, streamed (NDJSON) and not.
func TestOllamaFormat(t *testing.T) {
	ts := startServer(t, modelQwen3, Options{})
	schema := boundedSchemas[5].schema
	v := compileSchema(t, schema)
	for _, path := range []string{"/api/chat", "/api/generate"} {
		for _, stream := range []bool{false, true} {
			for _, temp := range []float64{0, 1} {
				body := fmt.Sprintf(`{"model":"test-model","stream":%v,"think":false,"format":%s,"options":{"temperature":%g,"seed":5,"num_predict":300},`, stream, schema, temp)
				if path == "/api/chat" {
					body += `"messages":[{"role":"user","content":"Points?"}]}`
				} else {
					body += `"prompt":"Points?"}`
				}
				status, _, resp := ts.post(t, path, body)
				if status != 200 {
					t.Fatalf("%s: %d %s", path, status, resp)
				}
				var text bytes.Buffer
				var reason string
				for _, line := range ndjson(t, resp) {
					if m, ok := line["message"].(map[string]any); ok {
						text.WriteString(m["content"].(string))
					}
					if r, ok := line["response"].(string); ok {
						text.WriteString(r)
					}
					if line["done"] == true {
						reason, _ = line["done_reason"].(string)
					}
				}
				what := fmt.Sprintf("%s stream=%v T=%g", path, stream, temp)
				if reason != "stop" {
					t.Errorf("%s: done_reason %q", what, reason)
				}
				validates(t, v, text.String(), what)
			}
		}
	}
	status, _, resp := ts.post(t, "/api/generate", `{"model":"test-model","stream":false,"think":false,"format":"json","prompt":"x","options":{"num_predict":30}}`)
	var r struct{ Response string }
	if status != 200 || json.Unmarshal(resp, &r) != nil || !strings.HasPrefix(r.Response, "{") {
		t.Errorf("format json: %d %s", status, resp)
	}
}
