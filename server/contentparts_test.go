package server

import (
	"encoding/json"
	"testing"
)

// TestNormalizeMessagesJoinsTextParts: text parts reach the template as one
// string, joined with "\n", as vLLM's "string" content format joins them
// (vllm/entrypoints/chat_utils.py, text_prompt = "\n".join(texts)) for
// every template that does not loop over message.content itself (Qwen2.5,
// Qwen3, QwQ, the DeepSeek-R1 distills, Llama 3.1; its detector does not
// see Qwen3.5's loop, which sits in a macro), and as llama.cpp joins them for
// templates that take string content (common_chat_msg::to_json_oaicompat
// with concat_typed_text). Other fields of the message stay as they were;
// string content is left alone.
func TestNormalizeMessagesJoinsTextParts(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`[{"role":"user","content":[{"type":"text","text":"Part one."},{"type":"text","text":"Part two."}]}]`,
			`[{"content":"Part one.\nPart two.","role":"user"}]`},
		{`[{"role":"user","name":"ann","content":[{"type":"text","text":"a"},{"type":"text","text":""},{"type":"text","text":"b"}]}]`,
			`[{"content":"a\n\nb","name":"ann","role":"user"}]`},
		{`[{"role":"system","content":[{"type":"text","text":"Be brief."}]},{"role":"user","content":"Hi"}]`,
			`[{"content":"Be brief.","role":"system"},{"role":"user","content":"Hi"}]`},
		{`[{"role":"user","content":[]}]`, `[{"content":"","role":"user"}]`},
	} {
		got, aerr := normalizeMessages(json.RawMessage(tc.in))
		if aerr != nil {
			t.Errorf("%s: %v", tc.in, aerr.Message)
			continue
		}
		if string(got) != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.in, got, tc.want)
		}
	}
	// Content given as a string is passed through untouched.
	in := `[{"role":"user","content":"a\nb"}]`
	if got, aerr := normalizeMessages(json.RawMessage(in)); aerr != nil || string(got) != in {
		t.Errorf("string content: got %s (%v), want it unchanged", got, aerr)
	}
}
