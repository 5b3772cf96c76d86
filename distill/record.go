package distill

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/qilin-ai/qilin/remote"
)

// Record is one line of samples.jsonl: one answer of the teacher to one
// prompt, with everything needed to train on it and to reproduce it.
type Record struct {
	PromptID string `json:"prompt_id"`
	Sample   int    `json:"sample"` // 0 to --samples - 1
	// Messages is the conversation sent (the --system prompt included)
	// followed by the teacher's answer: an assistant message with
	// "content" and "reasoning_content".
	Messages     []Message    `json:"messages"`
	FinishReason string       `json:"finish_reason"`
	Usage        remote.Usage `json:"usage"`
	Teacher      TeacherInfo  `json:"teacher"`
	Params       Params       `json:"params"`
	// Logprobs, with --top-logprobs, has one entry per generated token
	// the teacher reported, in order: the token, its log-probability and
	// the most likely alternatives.
	Logprobs []Logprob `json:"logprobs,omitempty"`
	// Rejected names the filter that dropped the record; set only in
	// rejected.jsonl.
	Rejected string `json:"rejected,omitempty"`
}

// Message is one turn of a record's conversation. ReasoningContent is set
// (possibly to "") on the teacher's answer only.
type Message struct {
	Role             string  `json:"role"`
	Content          string  `json:"content"`
	ReasoningContent *string `json:"reasoning_content,omitempty"`
}

// TeacherInfo names the teacher of a record: the model and where it ran
// ("local" for a model file run in-process, else the API root URL).
type TeacherInfo struct {
	Model    string `json:"model"`
	Endpoint string `json:"endpoint"`
}

// Params are the generation parameters of a record (Seed is the sample's
// own seed) or, in the manifest, of the collection (Seed is the base seed
// from which each sample's is derived).
type Params struct {
	Temperature *float64 `json:"temperature,omitempty"`
	TopP        *float64 `json:"top_p,omitempty"`
	MaxTokens   int      `json:"max_tokens,omitempty"`
	TopLogprobs int      `json:"top_logprobs,omitempty"`
	Think       *bool    `json:"think,omitempty"`
	// ThinkBudget bounds the reasoning, in tokens (see
	// remote.ChatRequest.ThinkBudget); nil: unbounded.
	ThinkBudget *int  `json:"think_budget,omitempty"`
	Seed        int64 `json:"seed"`
}

// Logprob is a generated token with its log-probability and alternatives.
// Bytes holds the token's exact bytes only when Token cannot (a token
// that ends inside a UTF-8 character).
type Logprob struct {
	Token       string       `json:"token"`
	Logprob     float64      `json:"logprob"`
	Bytes       []int        `json:"bytes,omitempty"`
	TopLogprobs []TopLogprob `json:"top_logprobs"`
}

// TopLogprob is one alternative at a token's position.
type TopLogprob struct {
	Token   string  `json:"token"`
	Logprob float64 `json:"logprob"`
	Bytes   []int   `json:"bytes,omitempty"`
}

// Answer returns the teacher's answer (the last message) and its reasoning.
func (r *Record) Answer() (content, reasoning string) {
	if len(r.Messages) == 0 {
		return "", ""
	}
	m := r.Messages[len(r.Messages)-1]
	if m.ReasoningContent != nil {
		reasoning = *m.ReasoningContent
	}
	return m.Content, reasoning
}

// key is a record's place: (prompt id, sample).
type key struct {
	prompt string
	sample int
}

func (r *Record) key() key { return key{r.PromptID, r.Sample} }

// parseRecord reads one line of samples.jsonl or rejected.jsonl.
func parseRecord(line []byte) (*Record, error) {
	var r Record
	if err := json.Unmarshal(line, &r); err != nil {
		return nil, err
	}
	switch {
	case r.PromptID == "":
		return nil, fmt.Errorf("no prompt_id")
	case r.Sample < 0:
		return nil, fmt.Errorf("sample %d", r.Sample)
	case len(r.Messages) < 2 || r.Messages[len(r.Messages)-1].Role != "assistant":
		return nil, fmt.Errorf("no assistant answer after the prompt")
	}
	return &r, nil
}

// logprobs converts a response's log-probabilities, keeping a token's bytes
// where its text cannot hold them.
func logprobs(in []remote.TokenLogprob) []Logprob {
	if len(in) == 0 {
		return nil
	}
	out := make([]Logprob, len(in))
	for i, t := range in {
		top := make([]TopLogprob, len(t.TopLogprobs))
		for j, a := range t.TopLogprobs {
			top[j] = TopLogprob{Token: validUTF8(a.Token), Logprob: a.Logprob, Bytes: exactBytes(a.Token, a.Bytes)}
		}
		out[i] = Logprob{Token: validUTF8(t.Token), Logprob: t.Logprob, Bytes: exactBytes(t.Token, t.Bytes), TopLogprobs: top}
	}
	return out
}

// exactBytes returns b as a list when text does not spell it.
func exactBytes(text string, b []byte) []int {
	if b == nil || (string(b) == validUTF8(text) && utf8.Valid(b)) {
		return nil
	}
	out := make([]int, len(b))
	for i, c := range b {
		out[i] = int(c)
	}
	return out
}

// ParseRecord reads one line of samples.jsonl or rejected.jsonl.
func ParseRecord(line []byte) (*Record, error) { return parseRecord(line) }

// validUTF8 replaces each byte of s that is not part of a UTF-8 character
// with U+FFFD, as encoding/json does (and so as a server's JSON carries
// it), so that text from a local model and from an endpoint compare.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b.WriteString("\uFFFD")
		} else {
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}
