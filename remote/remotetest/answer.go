package remotetest

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"
	"unicode"

	"github.com/qilin-ai/qilin/remote"
)

// token is one generated token.
type token struct {
	text      string
	reasoning bool // sent in the reasoning field (field styles)
	inThink   bool // part of the reasoning, whatever the style
	logprob   float64
	top       []remote.TopLogprob
}

// answer is what the server sends for one request.
type answer struct {
	id       string
	model    string
	tokens   []token
	finish   string
	usage    remote.Usage
	logprobs bool
	style    Style
}

var vocabulary = strings.Fields(`the a small bird sings in tall green tree while quick brown fox jumps over lazy dog
so first then next we check count sum two three four five answer is clear because each step adds one more`)

// answer computes the reply to req: a function of the model, the
// messages, the seed and the sampling parameters only.
func (s *Server) answer(req *Request, k *Knobs) *answer {
	key, _ := json.Marshal([]any{req.Model, req.Messages, req.Seed, req.Temperature, req.TopP, req.Think})
	h := sha256.Sum256(key)
	rng := rand.New(rand.NewPCG(binary.LittleEndian.Uint64(h[:8]), binary.LittleEndian.Uint64(h[8:16])))
	lpRng := rand.New(rand.NewPCG(binary.LittleEndian.Uint64(h[16:24]), binary.LittleEndian.Uint64(h[24:])))

	var reply Reply
	if k.Respond != nil {
		reply = k.Respond(*req)
	} else {
		nr, nc := k.ReasoningWords, k.Words
		if nr <= 0 {
			nr = 16
		}
		if nc <= 0 {
			nc = 24
		}
		reply.Reasoning = words(rng, nr)
		reply.Content = words(rng, nc) + "."
	}
	if req.Think != nil && !*req.Think {
		reply.Reasoning = ""
	}
	style := k.Style
	if reply.Reasoning == "" {
		style = ReasoningNone
	}
	var toks []token
	r, c := pieces(reply.Reasoning), pieces(reply.Content)
	switch style {
	case ReasoningContent, ReasoningField:
		for _, p := range r {
			toks = append(toks, token{text: p, reasoning: true, inThink: true})
		}
	case ReasoningInline, ReasoningOpen:
		if style == ReasoningInline {
			toks = append(toks, token{text: "<think>", inThink: true})
			if len(r) > 0 {
				r[0] = "\n" + r[0]
			}
		}
		for _, p := range r {
			toks = append(toks, token{text: p, inThink: true})
		}
		toks = append(toks, token{text: "\n</think>", inThink: true})
		if len(c) > 0 {
			c[0] = "\n\n" + c[0]
		}
	}
	for _, p := range c {
		toks = append(toks, token{text: p})
	}
	a := &answer{id: fmt.Sprintf("chatcmpl-%x", h[:6]), model: req.Model, finish: "stop", style: style,
		logprobs: req.Logprobs && !k.NoLogprobs}
	if req.MaxTokens > 0 && len(toks) > req.MaxTokens {
		toks, a.finish = toks[:req.MaxTokens], "length"
	}
	for i := range toks {
		t := &toks[i]
		t.logprob = -math.Round(lpRng.Float64()*30000) / 10000
		if req.TopLogprobs > 0 {
			t.top = append(t.top, remote.TopLogprob{Token: t.text, Logprob: t.logprob})
			lp := t.logprob
			for j := 1; j < req.TopLogprobs; j++ {
				lp -= math.Round(lpRng.Float64()*20000)/10000 + 0.0001
				t.top = append(t.top, remote.TopLogprob{Token: vocabulary[lpRng.IntN(len(vocabulary))], Logprob: lp})
			}
		}
		if t.inThink {
			a.usage.ReasoningTokens++
		}
	}
	a.tokens = toks
	for _, m := range req.Messages {
		a.usage.PromptTokens += len(pieces(m.Content)) + 3
	}
	a.usage.CompletionTokens = len(toks)
	a.usage.TotalTokens = a.usage.PromptTokens + a.usage.CompletionTokens
	return a
}

func words(rng *rand.Rand, n int) string {
	w := make([]string, n)
	for i := range w {
		w[i] = vocabulary[rng.IntN(len(vocabulary))]
	}
	return strings.Join(w, " ")
}

// pieces cuts text into tokens: each is a run of spaces and the word
// after it, so that the pieces concatenate to text.
func pieces(text string) []string {
	var out []string
	start := 0
	inWord := false
	for i, c := range text {
		space := unicode.IsSpace(c)
		if space && inWord {
			out = append(out, text[start:i])
			start = i
		}
		inWord = !space
	}
	if start < len(text) {
		out = append(out, text[start:])
	}
	return out
}

func (a *answer) text(reasoningField bool) (reasoning, content string) {
	var r, c strings.Builder
	for _, t := range a.tokens {
		if t.reasoning && reasoningField {
			r.WriteString(t.text)
		} else {
			c.WriteString(t.text)
		}
	}
	return r.String(), c.String()
}

func (a *answer) reasoningKey() string {
	if a.style == ReasoningField {
		return "reasoning"
	}
	return "reasoning_content"
}

func (t *token) wireLogprob() map[string]any {
	top := []map[string]any{}
	for _, x := range t.top {
		top = append(top, map[string]any{"token": x.Token, "logprob": x.Logprob, "bytes": byteList(x.Token)})
	}
	return map[string]any{"token": t.text, "logprob": t.logprob, "bytes": byteList(t.text), "top_logprobs": top}
}

func byteList(s string) []int {
	out := make([]int, len(s))
	for i := 0; i < len(s); i++ {
		out[i] = int(s[i])
	}
	return out
}

func (a *answer) usageJSON() map[string]any {
	return map[string]any{"prompt_tokens": a.usage.PromptTokens, "completion_tokens": a.usage.CompletionTokens,
		"total_tokens": a.usage.TotalTokens, "completion_tokens_details": map[string]int{"reasoning_tokens": a.usage.ReasoningTokens}}
}

// writeWhole sends a non-streamed completion.
func writeWhole(w http.ResponseWriter, a *answer, k *Knobs) {
	reasoning, content := a.text(true)
	msg := map[string]any{"role": "assistant", "content": content}
	if reasoning != "" {
		msg[a.reasoningKey()] = reasoning
	}
	choice := map[string]any{"index": 0, "message": msg, "finish_reason": a.finish}
	if a.logprobs {
		lps := []map[string]any{}
		for i := range a.tokens {
			lps = append(lps, a.tokens[i].wireLogprob())
		}
		choice["logprobs"] = map[string]any{"content": lps}
	}
	resp := map[string]any{"id": a.id, "object": "chat.completion", "model": a.model, "choices": []any{choice}}
	if !k.NoUsage {
		resp["usage"] = a.usageJSON()
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(resp)
}

// writeStream sends a streamed completion; after at events (when at >= 0)
// it cuts the connection, or stalls for k.StallFor when stall is set. It
// reports whether the stream was sent whole.
func writeStream(w http.ResponseWriter, r *http.Request, a *answer, k *Knobs, includeUsage bool, at int, stall bool) bool {
	cutAfter := -1
	if !stall {
		cutAfter = at
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	sent := 0
	event := func(v any) bool {
		if stall && sent == at && !sleep(r, k.StallFor) {
			return false
		}
		if sent == cutAfter {
			flush(w)
			panic(http.ErrAbortHandler)
		}
		if k.Delay > 0 {
			select {
			case <-time.After(k.Delay):
			case <-r.Context().Done():
				return false
			}
		}
		b, _ := json.Marshal(v)
		if _, err := fmt.Fprintf(w, "data: %s\n\n", b); err != nil {
			return false
		}
		flush(w)
		sent++
		return true
	}
	chunk := func(delta map[string]any, finish any, lp []map[string]any) map[string]any {
		choice := map[string]any{"index": 0, "delta": delta, "finish_reason": finish}
		if lp != nil {
			choice["logprobs"] = map[string]any{"content": lp}
		}
		return map[string]any{"id": a.id, "object": "chat.completion.chunk", "model": a.model, "choices": []any{choice}}
	}
	if !event(chunk(map[string]any{"role": "assistant", "content": ""}, nil, nil)) {
		return false
	}
	for i := range a.tokens {
		t := &a.tokens[i]
		delta := map[string]any{"content": t.text}
		if t.reasoning {
			delta = map[string]any{a.reasoningKey(): t.text}
		}
		var lp []map[string]any
		if a.logprobs {
			lp = []map[string]any{t.wireLogprob()}
		}
		if !event(chunk(delta, nil, lp)) {
			return false
		}
	}
	if !event(chunk(map[string]any{}, a.finish, nil)) {
		return false
	}
	if includeUsage && !k.NoUsage {
		if !event(map[string]any{"id": a.id, "object": "chat.completion.chunk", "model": a.model, "choices": []any{}, "usage": a.usageJSON()}) {
			return false
		}
	}
	if sent == cutAfter {
		flush(w)
		panic(http.ErrAbortHandler)
	}
	fmt.Fprint(w, "data: [DONE]\n\n")
	flush(w)
	return true
}
