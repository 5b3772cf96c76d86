package server

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/shared"

	"github.com/qilin-ai/qilin/engine"
	"github.com/qilin-ai/qilin/internal/testdata"
)

// TestTextOnlyInput: images, audio and video in a request, and requests for
// audio output, are refused with a 400 that says why, on both APIs, never
// dropped so that the answer silently ignores them.
func TestTextOnlyInput(t *testing.T) {
	var prompts [][]int
	ts := startServer(t, modelQwen3, Options{}, withScript(scriptFor(t, modelQwen3, "ok", &prompts)))
	user := func(parts string) string { return `{"messages":[{"role":"user","content":[` + parts + `]}]}` }
	for _, tc := range []struct {
		name, path, body, param string
	}{
		{"image_url part", "/v1/chat/completions", user(`{"type":"text","text":"What is this?"},{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}}`), "messages[0].content[1]"},
		{"input_audio part", "/v1/chat/completions", user(`{"type":"input_audio","input_audio":{"data":"UklGRg==","format":"wav"}}`), "messages[0].content[0]"},
		{"video_url part", "/v1/chat/completions", user(`{"type":"video_url","video_url":{"url":"https://example.com/v.mp4"}}`), "messages[0].content[0]"},
		{"file part", "/v1/chat/completions", user(`{"type":"file","file":{"file_id":"f"}}`), "messages[0].content[0]"},
		{"audio output", "/v1/chat/completions", `{"messages":[{"role":"user","content":"Hi"}],"modalities":["text","audio"]}`, "modalities"},
		{"audio options", "/v1/chat/completions", `{"messages":[{"role":"user","content":"Hi"}],"audio":{"voice":"alloy","format":"wav"}}`, "audio"},
		{"ollama chat images", "/api/chat", `{"model":"test-model","stream":false,"messages":[{"role":"user","content":"What is this?","images":["iVBORw0KGgo="]}]}`, "messages[0].images"},
		{"ollama generate images", "/api/generate", `{"model":"test-model","stream":false,"prompt":"What is this?","images":["iVBORw0KGgo="]}`, "images"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, body := ts.post(t, tc.path, tc.body)
			msg := string(body)
			if strings.HasPrefix(tc.path, "/v1/") {
				e := openAIError(t, body)
				if e.Param != tc.param || e.Code != "invalid_request" {
					t.Errorf("param %q code %q, want %q invalid_request", e.Param, e.Code, tc.param)
				}
				msg = e.Message
			}
			if code != 400 || !strings.Contains(msg, tc.param+": this model takes text only") {
				t.Errorf("status %d, body %s; want 400 saying %q", code, body, tc.param+": this model takes text only")
			}
		})
	}
	if len(prompts) != 0 {
		t.Errorf("%d refused requests reached the model", len(prompts))
	}
	// Text parts, text modality and a null audio field are fine.
	for _, body := range []string{
		user(`{"type":"text","text":"Hi"}`),
		`{"messages":[{"role":"user","content":"Hi"}],"modalities":["text"],"audio":null}`,
	} {
		if code, _, b := ts.post(t, "/v1/chat/completions", body); code != 200 {
			t.Errorf("%s: %d %s", body, code, b)
		}
	}
}

// TestChatToolCallsQwen35: with the Qwen3.5 chat template (whose prompt opens
// <think>), a model answer with reasoning and an XML tool call comes back as
// reasoning_content and a tool call whose arguments are typed by the tool's
// schema; the follow-up turn holding the call and its result renders.
func TestChatToolCallsQwen35(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", "chat", "testdata", "templates", "Qwen-Qwen3.5-35B-A3B.jinja"))
	if err != nil {
		t.Fatal(err)
	}
	script := "The user wants the weather.\n</think>\n\nLet me check.\n\n<tool_call>\n<function=get_weather>\n<parameter=city>\nParis\n</parameter>\n" +
		"<parameter=days>\n3\n</parameter>\n</function>\n</tool_call>"
	// The template's tool instructions take more than the shared engines'
	// context of 512 tokens in this small vocabulary: an engine of its own.
	path := testdata.Path(t, "models", modelQwen3)
	e, err := engine.Load(path, engine.Options{Context: 2048, ChatTemplate: string(src)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	ts := serveEngine(t, e, path, Options{ModelName: "test-model", Sched: schedOpts(1, 0)}, scriptFor(t, modelQwen3, script, nil))
	c := ts.client()
	p := chatParams("Weather in Paris?", 128)
	p.Tools = []openai.ChatCompletionToolUnionParam{openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
		Name: "get_weather",
		Parameters: shared.FunctionParameters{"type": "object", "properties": map[string]any{
			"city": map[string]any{"type": "string"}, "days": map[string]any{"type": "integer"}}},
	})}
	resp, err := c.Chat.Completions.New(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	ch := resp.Choices[0]
	if ch.FinishReason != "tool_calls" || len(ch.Message.ToolCalls) != 1 {
		t.Fatalf("finish %q, %d tool calls (content %q); want tool_calls and 1", ch.FinishReason, len(ch.Message.ToolCalls), ch.Message.Content)
	}
	if tc := ch.Message.ToolCalls[0]; tc.Function.Name != "get_weather" || tc.Function.Arguments != `{"city": "Paris", "days": 3}` {
		t.Errorf("tool call %+v", tc)
	}
	var extra struct {
		Reasoning string `json:"reasoning_content"`
	}
	if err := json.Unmarshal([]byte(ch.Message.RawJSON()), &extra); err != nil || extra.Reasoning != "The user wants the weather.\n" {
		t.Errorf("reasoning_content %q (%v)", extra.Reasoning, err)
	}
	if ch.Message.Content != "Let me check.\n\n" {
		t.Errorf("content %q, want the text before the call", ch.Message.Content)
	}
	p.Messages = append(p.Messages, ch.Message.ToParam(), openai.ToolMessage("18 C", ch.Message.ToolCalls[0].ID))
	if _, err := c.Chat.Completions.New(context.Background(), p); err != nil {
		t.Errorf("follow-up turn with a tool result: %v", err)
	}

	// Ollama's /api/chat: the same call, arguments as a JSON object.
	tools := `[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer"}}}}}]`
	code, _, body := ts.post(t, "/api/chat", `{"model":"test-model","stream":false,"messages":[{"role":"user","content":"Weather in Paris?"}],"tools":`+tools+`}`)
	var resp2 struct {
		Message struct {
			Thinking  string `json:"thinking"`
			ToolCalls []struct {
				Function struct {
					Name      string          `json:"name"`
					Arguments json.RawMessage `json:"arguments"`
				} `json:"function"`
			} `json:"tool_calls"`
		} `json:"message"`
	}
	if err := json.Unmarshal(body, &resp2); code != 200 || err != nil || len(resp2.Message.ToolCalls) != 1 {
		t.Fatalf("/api/chat: %d %s (%v)", code, body, err)
	}
	if f := resp2.Message.ToolCalls[0].Function; f.Name != "get_weather" || string(f.Arguments) != `{"city":"Paris","days":3}` {
		t.Errorf("/api/chat tool call %s %s, want get_weather {\"city\":\"Paris\",\"days\":3}", f.Name, f.Arguments)
	}
	if resp2.Message.Thinking != "The user wants the weather.\n" {
		t.Errorf("/api/chat thinking %q", resp2.Message.Thinking)
	}
}
