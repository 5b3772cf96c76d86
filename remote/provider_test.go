package remote_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/qilin-ai/qilin/remote"
)

func TestParseEndpoint(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want remote.Endpoint
	}{
		{"deepseek:deepseek-reasoner", remote.Endpoint{Provider: "deepseek", Title: "DeepSeek", BaseURL: "https://api.deepseek.com",
			Model: "deepseek-reasoner", KeyEnv: "DEEPSEEK_API_KEY", Think: remote.ThinkType}},
		{"QWEN:qwen-max", remote.Endpoint{Provider: "qwen", Title: "Qwen (DashScope)", BaseURL: "https://dashscope-intl.aliyuncs.com/compatible-mode/v1",
			Model: "qwen-max", KeyEnv: "DASHSCOPE_API_KEY", Think: remote.ThinkEnable}},
		{"moonshot:kimi-k2.5", remote.Endpoint{Provider: "moonshot", Title: "Moonshot (Kimi)", BaseURL: "https://api.moonshot.ai/v1",
			Model: "kimi-k2.5", KeyEnv: "MOONSHOT_API_KEY", Think: remote.ThinkType}},
		{"openai:o1", remote.Endpoint{Provider: "openai", Title: "OpenAI", BaseURL: "https://api.openai.com/v1", Model: "o1",
			KeyEnv: "OPENAI_API_KEY", MaxCompletionTokens: true}},
		{"openrouter:deepseek/deepseek-r1:free", remote.Endpoint{Provider: "openrouter", Title: "OpenRouter", BaseURL: "https://openrouter.ai/api/v1",
			Model: "deepseek/deepseek-r1:free", KeyEnv: "OPENROUTER_API_KEY", Think: remote.ThinkReasoning}},
		{"http://127.0.0.1:8000/v1#Qwen/Qwen3-8B", remote.Endpoint{Title: "127.0.0.1:8000", BaseURL: "http://127.0.0.1:8000/v1",
			Model: "Qwen/Qwen3-8B", Think: remote.ThinkTemplateKwargs}},
		{"http://localhost:11434#qwen3:8b", remote.Endpoint{Title: "localhost:11434", BaseURL: "http://localhost:11434/v1",
			Model: "qwen3:8b", Think: remote.ThinkTemplateKwargs}},
		{"https://h.example/api/v1/chat/completions#m#x", remote.Endpoint{Title: "h.example", BaseURL: "https://h.example/api/v1",
			Model: "m#x", Think: remote.ThinkTemplateKwargs}},
	} {
		got, err := remote.ParseEndpoint(tc.in)
		if err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.in, diff)
		}
		if !remote.IsEndpoint(tc.in) {
			t.Errorf("IsEndpoint(%q) = false", tc.in)
		}
	}
}

func TestParseEndpointErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"deepseek:", "deepseek:deepseek-reasoner"},
		{"http://127.0.0.1:8000/v1", "URL#MODEL"},
		{"https://user:sk-12345@h.example/v1#m", "--api-key-env"},
		{"https://h.example/v1?key=abc#m", "query"},
		{"nope:m", "PROVIDER:MODEL"},
	} {
		_, err := remote.ParseEndpoint(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one mentioning %q", tc.in, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "sk-12345") {
			t.Errorf("%s: error %q repeats the key", tc.in, err)
		}
	}
	for _, s := range []string{"deepseek-r1:1.5b", "qwen3:0.6b", "model.gguf", "hf.co/Qwen/Qwen3-8B-GGUF:Q8_0", "./deepseek:x.gguf"} {
		if remote.IsEndpoint(s) {
			t.Errorf("IsEndpoint(%q) = true", s)
		}
	}
}

func TestSplitThink(t *testing.T) {
	for _, tc := range []struct {
		in, reasoning, answer string
		closed                bool
	}{
		{"<think>\nA b.\n</think>\n\nAnswer.", "A b.", "Answer.", true},
		{"  <think>x</think>y", "x", "y", true},
		{"opened by the template\n</think>\n\n42", "opened by the template", "42", true},
		{"<think>\nnever closed", "never closed", "", false},
		{"plain answer", "", "plain answer", false},
		{"text <think>not at the start</think> more", "", "text <think>not at the start</think> more", false},
	} {
		r, a, closed := remote.SplitThink(tc.in)
		if r != tc.reasoning || a != tc.answer || closed != tc.closed {
			t.Errorf("SplitThink(%q) = %q, %q, %v; want %q, %q, %v", tc.in, r, a, closed, tc.reasoning, tc.answer, tc.closed)
		}
	}
}
