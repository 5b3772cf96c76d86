package server

import (
	"math"
	"net/http"

	"github.com/qilin-ai/qilin/chat"
	"github.com/qilin-ai/qilin/engine"
	"github.com/qilin-ai/qilin/tokenizer"
)

func (s *Server) listModels(w http.ResponseWriter, r *http.Request, m *model) {
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": []modelObject{m.object()}})
}

func (s *Server) getModel(w http.ResponseWriter, r *http.Request, m *model) {
	if aerr := m.checkModel(r.PathValue("id")); aerr != nil {
		writeOpenAIError(w, aerr)
		return
	}
	writeJSON(w, http.StatusOK, m.object())
}

type modelObject struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

func (m *model) object() modelObject {
	return modelObject{ID: m.name, Object: "model", Created: m.loaded.Unix(), OwnedBy: "qilin"}
}

// envelope is an OpenAI response or stream chunk around its choices.
type envelope[C any] struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	Model   string `json:"model"`
	Choices []C    `json:"choices"`
	Usage   *usage `json:"usage,omitempty"`
	// Timings goes with Usage (see timings).
	Timings *timings `json:"timings,omitempty"`
}

// OpenAI response shapes.
type (
	chatResponse       = envelope[chatChoice]
	chatChunk          = envelope[chunkChoice]
	completionResponse = envelope[completionChoice]

	usage struct {
		PromptTokens            int                     `json:"prompt_tokens"`
		CompletionTokens        int                     `json:"completion_tokens"`
		TotalTokens             int                     `json:"total_tokens"`
		PromptTokensDetails     promptTokensDetails     `json:"prompt_tokens_details"`
		CompletionTokensDetails completionTokensDetails `json:"completion_tokens_details"`
	}
	promptTokensDetails struct {
		CachedTokens int `json:"cached_tokens"`
	}
	completionTokensDetails struct {
		ReasoningTokens int `json:"reasoning_tokens"`
	}
	chatChoice struct {
		Index        int           `json:"index"`
		Message      chatMessage   `json:"message"`
		Logprobs     *chatLogprobs `json:"logprobs"`
		FinishReason string        `json:"finish_reason"`
	}
	chatMessage struct {
		Role             string        `json:"role"`
		Content          *string       `json:"content"`
		ReasoningContent string        `json:"reasoning_content,omitempty"`
		ToolCalls        []toolCallOut `json:"tool_calls,omitempty"`
	}
	toolCallOut struct {
		Index    *int            `json:"index,omitempty"`
		ID       string          `json:"id"`
		Type     string          `json:"type"`
		Function functionCallOut `json:"function"`
	}
	functionCallOut struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	}
	chatLogprobs struct {
		Content []logprobOut `json:"content"`
	}
	logprobOut struct {
		Token       string       `json:"token"`
		Logprob     float64      `json:"logprob"`
		Bytes       []int        `json:"bytes"`
		TopLogprobs []logprobTop `json:"top_logprobs"`
	}
	logprobTop struct {
		Token   string  `json:"token"`
		Logprob float64 `json:"logprob"`
		Bytes   []int   `json:"bytes"`
	}
	chunkChoice struct {
		Index        int           `json:"index"`
		Delta        chunkDelta    `json:"delta"`
		Logprobs     *chatLogprobs `json:"logprobs,omitempty"`
		FinishReason *string       `json:"finish_reason"`
	}
	chunkDelta struct {
		Role             string        `json:"role,omitempty"`
		Content          *string       `json:"content,omitempty"`
		ReasoningContent string        `json:"reasoning_content,omitempty"`
		ToolCalls        []toolCallOut `json:"tool_calls,omitempty"`
	}
	completionChoice struct {
		Index        int            `json:"index"`
		Text         string         `json:"text"`
		Logprobs     *legacyLogprob `json:"logprobs"`
		FinishReason string         `json:"finish_reason,omitempty"`
	}
	legacyLogprob struct {
		Tokens        []string             `json:"tokens"`
		TokenLogprobs []float64            `json:"token_logprobs"`
		TopLogprobs   []map[string]float64 `json:"top_logprobs"`
		TextOffset    []int                `json:"text_offset"`
	}
)

func usageOf(job *genJob, res []choiceResult) (*usage, *timings) {
	cs := streamsOf(job, make([]*engine.Stream, len(res)), 0)
	return usageOfAll([]*genJob{job}, cs, res), timingsOf([]*genJob{job}, cs, res)
}

// usageOfAll counts each prompt once and every choice's completion.
func usageOfAll(jobs []*genJob, cs []choiceStream, res []choiceResult) *usage {
	u := &usage{}
	seen := map[*genJob]bool{}
	for i, c := range cs {
		if !seen[c.job] {
			seen[c.job] = true
			u.PromptTokens += len(c.job.prompt)
			u.PromptTokensDetails.CachedTokens += res[i].res.CachedTokens
		}
		u.CompletionTokens += res[i].res.CompletionTokens
		u.CompletionTokensDetails.ReasoningTokens += res[i].res.ReasoningTokens
	}
	u.TotalTokens = u.PromptTokens + u.CompletionTokens
	return u
}

func toolCallsOut(calls []chat.ToolCall, base int, indexed bool) []toolCallOut {
	var out []toolCallOut
	for i, c := range calls {
		o := toolCallOut{ID: c.ID, Type: "function", Function: functionCallOut{Name: c.Function.Name, Arguments: c.Function.Arguments}}
		if indexed {
			k := base + i
			o.Index = &k
		}
		out = append(out, o)
	}
	return out
}

// finiteLogprob keeps -Inf (which JSON cannot carry) as a very small number.
func finiteLogprob(l float32) float64 {
	if math.IsInf(float64(l), -1) || math.IsNaN(float64(l)) {
		return -9999
	}
	return float64(l)
}

func tokenBytes(tok *tokenizer.Tokenizer, id int) (string, []int) {
	p := tok.Piece(id)
	b := make([]int, len(p))
	for i, c := range p {
		b[i] = int(c)
	}
	return string(p), b
}

func logprobsOut(tok *tokenizer.Tokenizer, lps []tokenLogprob) []logprobOut {
	out := make([]logprobOut, 0, len(lps))
	for _, lp := range lps {
		o := logprobOut{Logprob: finiteLogprob(lp.logprob), TopLogprobs: []logprobTop{}}
		o.Token, o.Bytes = tokenBytes(tok, lp.id)
		for _, t := range lp.top {
			x := logprobTop{Logprob: finiteLogprob(t.Logprob)}
			x.Token, x.Bytes = tokenBytes(tok, t.ID)
			o.TopLogprobs = append(o.TopLogprobs, x)
		}
		out = append(out, o)
	}
	return out
}

func legacyLogprobs(tok *tokenizer.Tokenizer, lps []tokenLogprob) *legacyLogprob {
	l := &legacyLogprob{Tokens: []string{}, TokenLogprobs: []float64{}, TopLogprobs: []map[string]float64{}, TextOffset: []int{}}
	off := 0
	for _, lp := range lps {
		text := string(tok.Piece(lp.id))
		l.Tokens = append(l.Tokens, text)
		l.TokenLogprobs = append(l.TokenLogprobs, finiteLogprob(lp.logprob))
		top := map[string]float64{}
		for _, t := range lp.top {
			top[string(tok.Piece(t.ID))] = finiteLogprob(t.Logprob)
		}
		l.TopLogprobs = append(l.TopLogprobs, top)
		l.TextOffset = append(l.TextOffset, off)
		off += len(text)
	}
	return l
}
