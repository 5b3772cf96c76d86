package remote

import (
	"bytes"
	"testing"
	"time"
)

// FuzzStream feeds arbitrary bytes to the stream reader and the response
// decoder: they return an answer or an error, never panic, and a complete
// answer's text is what its deltas said.
func FuzzStream(f *testing.F) {
	f.Add([]byte("data: {\"choices\":[{\"delta\":{\"reasoning_content\":\"r\"}}]}\n\ndata: {\"choices\":[{\"delta\":{\"content\":\"c\"},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n"))
	f.Add([]byte("data: {\"choices\":[{\"delta\":{\"content\":\"<think>x\"}}]}\ndata: {\"error\":\"boom\"}\n"))
	f.Add([]byte("data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"length\",\"logprobs\":{\"content\":[{\"token\":\"a\",\"logprob\":-1,\"bytes\":[97,300],\"top_logprobs\":[{}]}]}}],\"usage\":{\"prompt_tokens\":3}}"))
	f.Add([]byte(`{"choices":[{"message":{"content":"a</think>b"},"finish_reason":"stop"}],"usage":{"completion_tokens_details":{"reasoning_tokens":2}}}`))
	c := NewClient(Endpoint{Title: "fuzz"}, "sk-fuzz")
	f.Fuzz(func(t *testing.T, data []byte) {
		var text bytes.Buffer
		resp, _, err := c.readStream(bytes.NewReader(data), func(d Delta) { text.WriteString(d.Reasoning + d.Content) }, time.Minute, func(error) {})
		if err == nil {
			if got := resp.Reasoning + resp.Content; got != text.String() {
				t.Errorf("answer %q, deltas %q", got, text.String())
			}
			finishReasoning(resp)
		}
		if resp, err := c.decodeResponse(data); err == nil {
			finishReasoning(resp)
		}
	})
}
