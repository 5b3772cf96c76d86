package server

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func TestOllamaChat(t *testing.T) {
	script := "<think>\nI add 2 and 2.\n</think>\n\nIt is 4."
	ts := startServer(t, modelQwen3, Options{}, withScript(scriptFor(t, modelQwen3, script, nil)))
	body := `{"model":"test-model:latest","messages":[{"role":"user","content":"2+2?"}]}`

	// Default: an NDJSON stream, reasoning in message.thinking.
	code, hdr, b := ts.post(t, "/api/chat", body)
	if code != http.StatusOK || !strings.HasPrefix(hdr.Get("Content-Type"), "application/x-ndjson") {
		t.Fatalf("status %d, content type %q: %s", code, hdr.Get("Content-Type"), b)
	}
	lines := ndjson(t, b)
	var thinking, content string
	for i, l := range lines {
		msg, _ := l["message"].(map[string]any)
		thinking += str(msg["thinking"])
		content += str(msg["content"])
		if done := l["done"] == true; done != (i == len(lines)-1) {
			t.Errorf("line %d: done %v", i, l["done"])
		}
	}
	last := lines[len(lines)-1]
	if thinking != "I add 2 and 2.\n" || content != "It is 4." {
		t.Errorf("thinking %q content %q", thinking, content)
	}
	if len(lines) < 5 || last["done_reason"] != "stop" || last["eval_count"] != float64(len(scriptTokens(t, modelQwen3, script))) ||
		last["prompt_eval_count"].(float64) <= 0 || last["model"] != "test-model" {
		t.Errorf("%d lines, final line %v", len(lines), last)
	}

	// stream false: one object.
	code, _, b = ts.post(t, "/api/chat", `{"model":"test-model","stream":false,"messages":[{"role":"user","content":"2+2?"}]}`)
	var one struct {
		Message    ollamaMessage `json:"message"`
		Done       bool          `json:"done"`
		DoneReason string        `json:"done_reason"`
	}
	if err := json.Unmarshal(b, &one); err != nil || code != 200 {
		t.Fatalf("status %d: %s", code, b)
	}
	if one.Message.Thinking != "I add 2 and 2.\n" || one.Message.Content != "It is 4." || !one.Done || one.DoneReason != "stop" {
		t.Errorf("non-streamed reply %+v", one)
	}

	// think false: no thinking field.
	_, _, b = ts.post(t, "/api/chat", `{"model":"test-model","stream":false,"think":false,"messages":[{"role":"user","content":"2+2?"}]}`)
	if strings.Contains(string(b), `"thinking"`) {
		t.Errorf("think false still returned thinking: %s", b)
	}
	// Loading request (no messages).
	code, _, b = ts.post(t, "/api/chat", `{"model":"test-model"}`)
	if code != 200 || !strings.Contains(string(b), `"done_reason":"load"`) {
		t.Errorf("load request: %d %s", code, b)
	}
	// Errors in Ollama's shape.
	code, _, b = ts.post(t, "/api/chat", `{"model":"nope","messages":[{"role":"user","content":"x"}]}`)
	var e struct{ Error string }
	if json.Unmarshal(b, &e); code != http.StatusNotFound || !strings.Contains(e.Error, "nope") {
		t.Errorf("unknown model: %d %s", code, b)
	}
	code, _, b = ts.post(t, "/api/chat", `{"model":"test-model","messages":[{"role":"user","content":"x"}],"options":{"temperature":"hot"}}`)
	if json.Unmarshal(b, &e); code != http.StatusBadRequest || !strings.Contains(e.Error, "options.temperature") {
		t.Errorf("wrong option type: %d %s", code, b)
	}
}

func TestOllamaToolCalls(t *testing.T) {
	script := "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>"
	ts := startServer(t, modelQwen3, Options{}, withScript(scriptFor(t, modelQwen3, script, nil)))
	_, _, b := ts.post(t, "/api/chat", `{"model":"test-model","stream":false,"messages":[{"role":"user","content":"Weather?"}],
		"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}]}`)
	var r struct {
		Message ollamaMessage `json:"message"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	if len(r.Message.ToolCalls) != 1 || r.Message.ToolCalls[0].Function.Name != "get_weather" ||
		string(r.Message.ToolCalls[0].Function.Arguments) != `{"city":"Paris"}` || !strings.Contains(string(b), `"done_reason":"stop"`) {
		t.Errorf("tool calls: %s", b)
	}
	// The call and its result go back into the conversation.
	code, _, b := ts.post(t, "/api/chat", `{"model":"test-model","stream":false,"messages":[{"role":"user","content":"Weather?"},
		{"role":"assistant","content":"","tool_calls":[{"function":{"name":"get_weather","arguments":{"city":"Paris"}}}]},
		{"role":"tool","tool_name":"get_weather","content":"18 C"}]}`)
	if code != 200 {
		t.Errorf("follow-up: %d %s", code, b)
	}
}

func TestOllamaGenerateAndListings(t *testing.T) {
	ts := startServer(t, modelStories, Options{})
	ids, _ := ts.e.Tok.Encode("Once upon a time", true, true)
	want := ts.e.Tok.Decode(greedyAlone(t, ts.e, ids, 8))
	code, _, b := ts.post(t, "/api/generate", `{"model":"test-model","prompt":"Once upon a time","raw":true,"options":{"temperature":0,"num_predict":8}}`)
	if code != 200 {
		t.Fatalf("%d %s", code, b)
	}
	var got string
	lines := ndjson(t, b)
	for _, l := range lines {
		got += str(l["response"])
	}
	if got != want || lines[len(lines)-1]["done_reason"] != "length" {
		t.Errorf("generate %q (final %v), want %q", got, lines[len(lines)-1], want)
	}
	// Without raw, a model without a chat template completes the prompt
	// (after the system text) instead of wrapping it in a ChatML guess.
	ids, _ = ts.e.Tok.Encode("Be kind.\n\nOnce upon a time", true, true)
	want = ts.e.Tok.Decode(greedyAlone(t, ts.e, ids, 6))
	code, _, b = ts.post(t, "/api/generate", `{"model":"test-model","prompt":"Once upon a time","system":"Be kind.","stream":false,"options":{"temperature":0,"num_predict":6}}`)
	var r map[string]any
	if json.Unmarshal(b, &r); code != 200 || r["done"] != true || r["eval_count"] != float64(6) || r["response"] != want {
		t.Errorf("generate without a template: %d %s, want the response %q", code, b, want)
	}
	// think on a model that cannot think: Ollama's error; think false is
	// fine.
	code, _, b = ts.post(t, "/api/generate", `{"model":"test-model","prompt":"Hi","think":true}`)
	if code != 400 || !strings.Contains(string(b), `"test-model\" does not support thinking`) {
		t.Errorf("think on a model without thinking: %d %s", code, b)
	}
	if code, _, b = ts.post(t, "/api/chat", `{"model":"test-model","messages":[{"role":"user","content":"Hi"}],"think":false,"stream":false,"options":{"num_predict":2}}`); code != 200 {
		t.Errorf("think false on a model without thinking: %d %s", code, b)
	}
	code, _, b = ts.post(t, "/api/chat", `{"messages":[{"role":"robot","content":"x"}]}`)
	if code != 400 || !strings.Contains(string(b), `messages[0].role: \"robot\" is not a known role`) {
		t.Errorf("unknown role: %d %s", code, b)
	}

	for _, tc := range []struct{ method, path, body, want string }{
		{"GET", "/api/tags", "", `"name":"test-model:latest"`},
		{"GET", "/api/ps", "", `"context_length":512`},
		{"GET", "/api/version", "", `"version":"`},
		{"POST", "/api/show", `{"model":"test-model"}`, `"general.architecture":"llama"`},
	} {
		code, _, b := ts.do(t, tc.method, tc.path, tc.body)
		if code != 200 || !strings.Contains(string(b), tc.want) {
			t.Errorf("%s %s: %d %s, want %s", tc.method, tc.path, code, b, tc.want)
		}
	}
	if code, _, b := ts.post(t, "/api/show", `{"model":"other"}`); code != 404 {
		t.Errorf("show unknown model: %d %s", code, b)
	}
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func scriptTokens(t testing.TB, name, text string) []int {
	e, _ := testEngine(t, name)
	ids, err := e.Tok.Encode(text, false, true)
	if err != nil {
		t.Fatal(err)
	}
	return ids
}
