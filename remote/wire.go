package remote

import "encoding/json"

// requestBody builds the JSON body of req for e.
func requestBody(e Endpoint, req *ChatRequest) ([]byte, error) {
	m := map[string]any{"model": e.Model, "messages": req.Messages}
	if m["messages"] == nil {
		m["messages"] = []Message{}
	}
	if req.Stream {
		m["stream"] = true
		m["stream_options"] = map[string]bool{"include_usage": true}
	}
	if req.MaxTokens > 0 {
		if e.MaxCompletionTokens {
			m["max_completion_tokens"] = req.MaxTokens
		} else {
			m["max_tokens"] = req.MaxTokens
		}
	}
	if req.Temperature != nil {
		m["temperature"] = *req.Temperature
	}
	if req.TopP != nil {
		m["top_p"] = *req.TopP
	}
	if req.Seed != nil {
		m["seed"] = *req.Seed
	}
	if len(req.Stop) > 0 {
		m["stop"] = req.Stop
	}
	if req.Logprobs || req.TopLogprobs > 0 {
		m["logprobs"] = true
	}
	if req.TopLogprobs > 0 {
		m["top_logprobs"] = req.TopLogprobs
	}
	if t := req.Think; t != nil {
		switch e.Think {
		case ThinkTemplateKwargs:
			m["chat_template_kwargs"] = map[string]bool{"enable_thinking": *t}
		case ThinkEnable:
			m["enable_thinking"] = *t
		case ThinkType:
			m["thinking"] = map[string]string{"type": map[bool]string{true: "enabled", false: "disabled"}[*t]}
		case ThinkReasoning:
			m["reasoning"] = map[string]bool{"enabled": *t}
		}
	}
	if b := req.ThinkBudget; b != nil {
		switch e.Think {
		case ThinkTemplateKwargs:
			m["thinking_budget_tokens"] = *b
		case ThinkEnable:
			m["thinking_budget"] = *b
		case ThinkReasoning:
			r, _ := m["reasoning"].(map[string]bool)
			out := map[string]any{"max_tokens": *b}
			for k, v := range r {
				out[k] = v
			}
			m["reasoning"] = out
		}
	}
	for k, v := range req.Extra {
		m[k] = v
	}
	return json.Marshal(m)
}

// wireMessage is a message or a streamed delta in a response.
type wireMessage struct {
	Content          *string `json:"content"`
	ReasoningContent *string `json:"reasoning_content"` // DeepSeek, vLLM, qilin
	Reasoning        *string `json:"reasoning"`         // OpenRouter, newer vLLM
}

func (m *wireMessage) reasoning() string {
	switch {
	case m.ReasoningContent != nil:
		return *m.ReasoningContent
	case m.Reasoning != nil:
		return *m.Reasoning
	}
	return ""
}

func (m *wireMessage) content() string {
	if m.Content == nil {
		return ""
	}
	return *m.Content
}

type wireChoice struct {
	Message      wireMessage   `json:"message"`
	Delta        wireMessage   `json:"delta"`
	FinishReason *string       `json:"finish_reason"`
	Logprobs     *wireLogprobs `json:"logprobs"`
}

type wireLogprobs struct {
	Content []wireTokenLogprob `json:"content"`
}

type wireTokenLogprob struct {
	Token       string             `json:"token"`
	Logprob     float64            `json:"logprob"`
	Bytes       []int              `json:"bytes"`
	TopLogprobs []wireTokenLogprob `json:"top_logprobs"`
}

type wireUsage struct {
	PromptTokens        int `json:"prompt_tokens"`
	CompletionTokens    int `json:"completion_tokens"`
	TotalTokens         int `json:"total_tokens"`
	PromptCacheHit      int `json:"prompt_cache_hit_tokens"` // DeepSeek
	PromptTokensDetails *struct {
		CachedTokens int `json:"cached_tokens"`
	} `json:"prompt_tokens_details"`
	CompletionTokensDetails *struct {
		ReasoningTokens int `json:"reasoning_tokens"`
	} `json:"completion_tokens_details"`
}

func (u *wireUsage) usage() Usage {
	out := Usage{PromptTokens: u.PromptTokens, CompletionTokens: u.CompletionTokens, TotalTokens: u.TotalTokens,
		CachedTokens: u.PromptCacheHit}
	if out.TotalTokens == 0 {
		out.TotalTokens = out.PromptTokens + out.CompletionTokens
	}
	if d := u.PromptTokensDetails; d != nil && d.CachedTokens > 0 {
		out.CachedTokens = d.CachedTokens
	}
	if d := u.CompletionTokensDetails; d != nil {
		out.ReasoningTokens = d.ReasoningTokens
	}
	return out
}

// wireResponse is a completion or one chunk of a stream.
type wireResponse struct {
	ID      string       `json:"id"`
	Model   string       `json:"model"`
	Choices []wireChoice `json:"choices"`
	Usage   *wireUsage   `json:"usage"`
	Error   *wireError   `json:"error"`
}

// wireError is the error object of OpenAI-style APIs. Some servers send a
// bare string instead.
type wireError struct {
	Message string `json:"message"`
	Type    string `json:"type"`
	Code    any    `json:"code"`
}

func (w *wireError) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		w.Message = s
		return nil
	}
	type plain wireError
	return json.Unmarshal(b, (*plain)(w))
}

func tokenLogprobs(in []wireTokenLogprob) []TokenLogprob {
	out := make([]TokenLogprob, len(in))
	for i, t := range in {
		top := make([]TopLogprob, len(t.TopLogprobs))
		for j, a := range t.TopLogprobs {
			top[j] = TopLogprob{Token: a.Token, Logprob: a.Logprob, Bytes: intBytes(a.Bytes)}
		}
		out[i] = TokenLogprob{Token: t.Token, Logprob: t.Logprob, Bytes: intBytes(t.Bytes), TopLogprobs: top}
	}
	return out
}

// intBytes converts OpenAI's byte list; nil when absent or out of range.
func intBytes(b []int) []byte {
	if b == nil {
		return nil
	}
	out := make([]byte, len(b))
	for i, c := range b {
		if c < 0 || c > 255 {
			return nil
		}
		out[i] = byte(c)
	}
	return out
}
