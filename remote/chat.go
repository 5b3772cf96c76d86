package remote

// Message is one turn of a conversation, in OpenAI's shape.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
	// ReasoningContent is an assistant turn's reasoning, DeepSeek style;
	// empty in requests unless a conversation hands it back.
	ReasoningContent string `json:"reasoning_content,omitempty"`
}

// ChatRequest is one chat completion. Nil pointers and zero values leave
// the server's defaults.
type ChatRequest struct {
	Messages    []Message
	MaxTokens   int // generated tokens at most (reasoning included); 0: the server's default
	Temperature *float64
	TopP        *float64
	Seed        *int64
	Stop        []string
	// Logprobs asks for the log-probability of each generated token;
	// TopLogprobs > 0 also for that many most likely alternatives.
	Logprobs    bool
	TopLogprobs int
	// Think switches the model's reasoning on or off where the endpoint
	// has a switch (Endpoint.Think); nil leaves the model's default.
	Think *bool
	// ThinkBudget bounds the reasoning to that many tokens (0: answer at
	// once) where the endpoint takes a bound (Endpoint.Budgets); nil
	// leaves it unbounded.
	ThinkBudget *int
	// Stream asks for server-sent events; OnDelta, when not nil, sees
	// each piece as it arrives.
	Stream  bool
	OnDelta func(Delta)
	// OnRetry, when not nil, is told of each failed attempt that will be
	// retried (besides the Client's own OnRetry).
	OnRetry func(Retry)
	// Extra holds more request fields, sent as given; they override the
	// fields above.
	Extra map[string]any
}

// Delta is one streamed piece of an answer.
type Delta struct {
	Reasoning string
	Content   string
	Logprobs  []TokenLogprob
	// Restart says the stream broke and the request is being sent again:
	// what came before this delta is void.
	Restart bool
}

// ChatResponse is a whole answer.
type ChatResponse struct {
	ID    string
	Model string // as the server names it
	// Content is the answer; Reasoning the reasoning before it, from a
	// reasoning_content (or reasoning) field or split off an inline
	// <think>…</think> block.
	Content   string
	Reasoning string
	// ReasoningClosed reports that a reasoning block ended and the answer
	// followed: an inline </think>, or a reasoning field followed by
	// content. It is false for an answer without reasoning and for one
	// cut off inside its reasoning.
	ReasoningClosed bool
	// FinishReason is the server's: "stop", "length", ...
	FinishReason string
	Usage        Usage
	// Logprobs has one entry per generated token the server reported,
	// when the request asked for them and the endpoint offers them.
	Logprobs []TokenLogprob
	// Attempts is how many times the request was sent.
	Attempts int
}

// Usage counts the tokens of a request, as the server reported them.
type Usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
	// ReasoningTokens is the part of CompletionTokens spent reasoning,
	// when the server tells.
	ReasoningTokens int `json:"reasoning_tokens,omitempty"`
	// CachedTokens is the part of PromptTokens served from a prompt
	// cache, when the server tells.
	CachedTokens int `json:"cached_tokens,omitempty"`
}

// TokenLogprob is a generated token with its log-probability and the most
// likely alternatives at its position.
type TokenLogprob struct {
	Token   string  `json:"token"`
	Logprob float64 `json:"logprob"`
	// Bytes are the token's exact bytes when the server sent them (a token
	// may end inside a UTF-8 character, which Token cannot hold).
	Bytes       []byte       `json:"-"`
	TopLogprobs []TopLogprob `json:"top_logprobs"`
}

// TopLogprob is one alternative at a token's position.
type TopLogprob struct {
	Token   string  `json:"token"`
	Logprob float64 `json:"logprob"`
	Bytes   []byte  `json:"-"`
}
