package server

import (
	"encoding/json"
	"testing"
)

// FuzzParseChatRequest: any body decodes to a request or a 4xx error,
// never a panic, and an accepted request has valid sampling parameters.
func FuzzParseChatRequest(f *testing.F) {
	for _, s := range []string{
		`{"model":"m","messages":[{"role":"user","content":"hi"}]}`,
		`{"messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}],"stream":true,"stream_options":{"include_usage":true}}`,
		`{"messages":[{"role":"system","content":null},{"role":"user","content":"x"}],"stop":["a","b"],"n":2,"seed":-1,"temperature":0.5,"top_p":0.9,"top_k":5,"min_p":0.1}`,
		`{"messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f","parameters":{}}}],"tool_choice":"auto"}`,
		`{"messages":[{"role":"user","content":"x"}],"chat_template_kwargs":{"enable_thinking":false},"reasoning_effort":"none","thinking_budget_tokens":3}`,
		`{"messages":[{"role":"user","content":"x"}],"logprobs":true,"top_logprobs":20,"max_completion_tokens":5}`,
		`{"messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_schema","json_schema":{"name":"n","schema":{"type":"object","properties":{"a":{"type":"integer"}}},"strict":true}}}`,
		`{"messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_object"},"grammar":"root ::= \"a\""}`,
		`{"messages":[{"role":"user","content":"x"}],"json_schema":{"enum":[1,2]},"tool_choice":{"type":"function","function":{"name":"f"}}}`,
		`{"messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"required"}`,
		`{"messages":"x"}`, `{"messages":[{}]}`, `[]`, `null`, `{`, `{"stop":5}`, `{"tool_choice":{"type":"function"}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, aerr := parseChatRequest(body)
		if aerr != nil {
			if aerr.Status < 400 || aerr.Status >= 500 || aerr.Message == "" {
				t.Fatalf("error %+v", aerr)
			}
			return
		}
		if !json.Valid(req.Messages) {
			t.Fatalf("accepted messages are not JSON: %q", req.Messages)
		}
		p, perr := req.params()
		if perr == nil && (p.Temperature < 0 || p.Temperature > 2 || p.TopP < 0 || p.TopP > 1 || p.TopK < 0) {
			t.Fatalf("sampling out of range: %+v", p)
		}
		n, nerr := choices(req.N)
		if nerr == nil && (n < 1 || n > maxN) {
			t.Fatalf("n = %d", n)
		}
	})
}
