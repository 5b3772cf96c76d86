package server

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strings"

	"github.com/qilin-ai/qilin/chat"
	"github.com/qilin-ai/qilin/engine"
	"github.com/qilin-ai/qilin/tokenizer"
)

// chatRequest is the body of POST /v1/chat/completions.
type chatRequest struct {
	Model         string          `json:"model"`
	Messages      json.RawMessage `json:"messages"`
	Stream        bool            `json:"stream"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	MaxTokens           *int `json:"max_tokens"`
	MaxCompletionTokens *int `json:"max_completion_tokens"`
	samplingFields
	N                    *int                       `json:"n"`
	Stop                 stopList                   `json:"stop"`
	Logprobs             bool                       `json:"logprobs"`
	TopLogprobs          *int                       `json:"top_logprobs"`
	Tools                []json.RawMessage          `json:"tools"`
	ToolChoice           json.RawMessage            `json:"tool_choice"`
	ChatTemplateKwargs   map[string]json.RawMessage `json:"chat_template_kwargs"`
	ReasoningEffort      string                     `json:"reasoning_effort"`
	ThinkingBudgetTokens *int                       `json:"thinking_budget_tokens"`
	ReasoningFormat      string                     `json:"reasoning_format"`
}

// parseChatRequest decodes and validates a chat request body into a job
// (without the prompt, which needs the model's template).
func parseChatRequest(body []byte) (*chatRequest, *apiError) {
	var req chatRequest
	if err := decodeJSON(body, &req); err != nil {
		return nil, err
	}
	msgs, err := normalizeMessages(req.Messages)
	if err != nil {
		return nil, err
	}
	req.Messages = msgs
	if req.TopLogprobs != nil && (*req.TopLogprobs < 0 || *req.TopLogprobs > maxTopLogprobs) {
		return nil, badRequest("top_logprobs", "%d is outside [0, %d]", *req.TopLogprobs, maxTopLogprobs)
	}
	if req.ThinkingBudgetTokens != nil && *req.ThinkingBudgetTokens < 0 {
		return nil, badRequest("thinking_budget_tokens", "%d is negative", *req.ThinkingBudgetTokens)
	}
	if !ValidReasoningFormat(req.ReasoningFormat) {
		return nil, badRequest("reasoning_format", "%q is not deepseek or none", req.ReasoningFormat)
	}
	switch req.ReasoningEffort {
	case "", "none", "minimal", "low", "medium", "high":
	default:
		return nil, badRequest("reasoning_effort", "%q is not none, minimal, low, medium or high", req.ReasoningEffort)
	}
	for i, t := range req.Tools {
		var tool struct {
			Type     string `json:"type"`
			Function *struct {
				Name string `json:"name"`
			} `json:"function"`
		}
		if err := json.Unmarshal(t, &tool); err != nil || tool.Function == nil || tool.Function.Name == "" {
			return nil, badRequest(fmt.Sprintf("tools[%d]", i), "want {\"type\": \"function\", \"function\": {\"name\": ...}}")
		}
	}
	if _, err := toolChoice(req.ToolChoice); err != nil {
		return nil, err
	}
	return &req, nil
}

// toolChoice returns whether tools are offered: "auto" (default) or "none".
func toolChoice(raw json.RawMessage) (bool, *apiError) {
	if len(raw) == 0 || string(raw) == "null" {
		return true, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return false, badRequest("tool_choice", "only \"auto\" and \"none\" are supported")
	}
	switch s {
	case "auto":
		return true, nil
	case "none":
		return false, nil
	}
	return false, badRequest("tool_choice", "%q is not supported: use \"auto\" or \"none\"", s)
}

// normalizeMessages checks the messages array and turns content given as
// an array of text parts into a string, which every template understands.
func normalizeMessages(raw json.RawMessage) (json.RawMessage, *apiError) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, badRequest("messages", "required: an array of message objects")
	}
	var msgs []json.RawMessage
	if err := json.Unmarshal(raw, &msgs); err != nil {
		return nil, badRequest("messages", "want an array of message objects")
	}
	if len(msgs) == 0 {
		return nil, badRequest("messages", "empty: at least one message is needed")
	}
	changed := false
	for i, m := range msgs {
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(m, &fields); err != nil || fields == nil {
			return nil, badRequest(fmt.Sprintf("messages[%d]", i), "want an object")
		}
		var role string
		if err := json.Unmarshal(fields["role"], &role); err != nil || role == "" {
			return nil, badRequest(fmt.Sprintf("messages[%d].role", i), "want a non-empty string")
		}
		c := fields["content"]
		if len(c) == 0 || c[0] != '[' {
			if len(c) > 0 && c[0] != '"' && string(c) != "null" {
				return nil, badRequest(fmt.Sprintf("messages[%d].content", i), "want a string or an array of content parts")
			}
			continue
		}
		var parts []struct {
			Type string  `json:"type"`
			Text *string `json:"text"`
		}
		if err := json.Unmarshal(c, &parts); err != nil {
			return nil, badRequest(fmt.Sprintf("messages[%d].content", i), "want a string or an array of content parts")
		}
		var texts []string
		for j, p := range parts {
			if p.Type != "text" || p.Text == nil {
				return nil, badRequest(fmt.Sprintf("messages[%d].content[%d]", i, j), "only text parts are supported, got type %q", p.Type)
			}
			texts = append(texts, *p.Text)
		}
		fields["content"], _ = json.Marshal(strings.Join(texts, "\n"))
		msgs[i], _ = json.Marshal(fields)
		changed = true
	}
	if !changed {
		return raw, nil
	}
	out, _ := json.Marshal(msgs)
	return out, nil
}

// templateVars returns the template variables of a chat request: the
// client's chat_template_kwargs, and reasoning_effort mapped onto
// enable_thinking ("none" turns thinking off, any other effort on, unless
// the kwargs say otherwise) and passed on as reasoning_effort.
func templateVars(kwargs map[string]json.RawMessage, effort string) map[string]any {
	vars := map[string]any{}
	for k, v := range kwargs {
		vars[k] = v
	}
	if effort != "" {
		if _, set := vars["enable_thinking"]; !set {
			vars["enable_thinking"] = effort != "none"
		}
		if effort != "none" {
			vars["reasoning_effort"] = effort
		}
	}
	return vars
}

func (s *Server) chatCompletions(w http.ResponseWriter, r *http.Request, m *model) {
	fail := func(e *apiError) { writeOpenAIError(w, e) }
	body, aerr := readBody(r)
	if aerr != nil {
		fail(aerr)
		return
	}
	req, aerr := parseChatRequest(body)
	if aerr != nil {
		fail(aerr)
		return
	}
	if aerr := m.checkModel(req.Model); aerr != nil {
		fail(aerr)
		return
	}
	job := &genJob{start: s.opts.Now()}
	if aerr := s.commonParams(m, job, &req.samplingFields, req.N, req.Stop, []tokenLimit{{"max_completion_tokens", req.MaxCompletionTokens}, {"max_tokens", req.MaxTokens}}); aerr != nil {
		fail(aerr)
		return
	}
	job.req.Logprobs = req.Logprobs
	if req.TopLogprobs != nil && req.Logprobs {
		job.req.TopLogprobs = *req.TopLogprobs
	}
	offer, _ := toolChoice(req.ToolChoice)
	var tools []json.RawMessage
	if offer && len(req.Tools) > 0 {
		tools = req.Tools
	}
	p, aerr := s.renderChat(m, chatInput(req.Messages, tools, templateVars(req.ChatTemplateKwargs, req.ReasoningEffort)), req.ThinkingBudgetTokens, job)
	if aerr != nil {
		fail(aerr)
		return
	}
	format := s.opts.ReasoningFormat
	if req.ReasoningFormat != "" {
		format = req.ReasoningFormat
	}
	job.parse = s.chatOutput(m, p, tools != nil, format)
	streams, aerr := s.submit(r.Context(), m, job)
	if aerr != nil {
		fail(aerr)
		return
	}
	id := "chatcmpl-" + randomID()
	created := job.start.Unix()
	if !req.Stream {
		res := s.run(streamsOf(job, streams, 0), func(delta) {})
		resp := chatResponse{ID: id, Object: "chat.completion", Created: created, Model: m.name, Usage: usageOf(job, res)}
		for i, c := range res {
			if c.res.Err != nil {
				fail(engineError(c.res.Err))
				return
			}
			msg := chatMessage{Role: "assistant", ReasoningContent: c.reasoning, ToolCalls: toolCallsOut(c.calls, 0, false)}
			if c.content != "" || len(c.calls) == 0 {
				msg.Content = &c.content
			}
			ch := chatChoice{Index: i, Message: msg, FinishReason: c.finish}
			if req.Logprobs {
				ch.Logprobs = &chatLogprobs{Content: logprobsOut(m.e.Tok, c.logprobs)}
			}
			resp.Choices = append(resp.Choices, ch)
		}
		writeJSON(w, http.StatusOK, resp)
		return
	}
	sse := newSSE(w)
	chunk := func(choices []chunkChoice, u *usage) {
		sse.send(chatChunk{ID: id, Object: "chat.completion.chunk", Created: created, Model: m.name, Choices: choices, Usage: u})
	}
	for i := range streams {
		empty := ""
		chunk([]chunkChoice{{Index: i, Delta: chunkDelta{Role: "assistant", Content: &empty}}}, nil)
	}
	res := s.run(streamsOf(job, streams, 0), func(d delta) {
		if d.final && d.res.Err != nil {
			sse.send(map[string]*apiError{"error": engineError(d.res.Err)})
			return
		}
		c := chunkChoice{Index: d.index}
		if d.content != "" {
			c.Delta.Content = &d.content
		}
		c.Delta.ReasoningContent = d.reasoning
		c.Delta.ToolCalls = toolCallsOut(d.calls, d.callBase, true)
		if len(d.logprobs) > 0 && req.Logprobs {
			c.Logprobs = &chatLogprobs{Content: logprobsOut(m.e.Tok, d.logprobs)}
		}
		if d.final {
			if c.Delta.Content != nil || c.Delta.ReasoningContent != "" || len(c.Delta.ToolCalls) > 0 {
				chunk([]chunkChoice{c}, nil)
				c = chunkChoice{Index: d.index}
			}
			c.FinishReason = &d.finish
		}
		chunk([]chunkChoice{c}, nil)
	})
	if req.StreamOptions != nil && req.StreamOptions.IncludeUsage {
		chunk([]chunkChoice{}, usageOf(job, res))
	}
	sse.done()
}

// commonParams fills the sampling, choice count, stop strings and token
// limit of job.
func (s *Server) commonParams(m *model, job *genJob, sf *samplingFields, n *int, stop stopList, limits []tokenLimit) *apiError {
	p, aerr := sf.params()
	if aerr != nil {
		return aerr
	}
	job.req.Sample = p
	if job.n, aerr = choices(n); aerr != nil {
		return aerr
	}
	if job.req.Stop, aerr = stops(stop); aerr != nil {
		return aerr
	}
	job.req.MaxTokens, aerr = maxTokens(m.maxToks, limits...)
	return aerr
}

// readBody reads the request body, mapping an oversized body to 413.
func readBody(r *http.Request) ([]byte, *apiError) {
	var raw json.RawMessage
	if err := decodeBody(r, &raw); err != nil {
		return nil, err
	}
	return raw, nil
}

// completionRequest is the body of POST /v1/completions.
type completionRequest struct {
	Model         string          `json:"model"`
	Prompt        json.RawMessage `json:"prompt"`
	Stream        bool            `json:"stream"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	MaxTokens *int `json:"max_tokens"`
	samplingFields
	N        *int     `json:"n"`
	Stop     stopList `json:"stop"`
	Logprobs *int     `json:"logprobs"`
	Echo     bool     `json:"echo"`
}

// parsePrompts accepts a string, an array of strings, an array of token
// ids, or an array of arrays of token ids.
func parsePrompts(raw json.RawMessage, tok *tokenizer.Tokenizer) ([][]int, []string, *apiError) {
	var one string
	if err := json.Unmarshal(raw, &one); err == nil {
		raw, _ = json.Marshal([]string{one})
	}
	var texts []string
	if err := json.Unmarshal(raw, &texts); err == nil && len(texts) > 0 {
		out := make([][]int, len(texts))
		for i, t := range texts {
			ids, err := tok.Encode(t, true, true)
			if err != nil {
				return nil, nil, badRequest("prompt", "%v", err)
			}
			out[i] = ids
		}
		return out, texts, nil
	}
	var ids []int
	if err := json.Unmarshal(raw, &ids); err == nil && len(ids) > 0 {
		return [][]int{ids}, []string{""}, nil
	}
	var many [][]int
	if err := json.Unmarshal(raw, &many); err == nil && len(many) > 0 {
		return many, make([]string, len(many)), nil
	}
	return nil, nil, badRequest("prompt", "want a string, an array of strings, or token ids")
}

func (s *Server) completions(w http.ResponseWriter, r *http.Request, m *model) {
	fail := func(e *apiError) { writeOpenAIError(w, e) }
	var req completionRequest
	if aerr := decodeBody(r, &req); aerr != nil {
		fail(aerr)
		return
	}
	if aerr := m.checkModel(req.Model); aerr != nil {
		fail(aerr)
		return
	}
	if req.Echo {
		fail(badRequest("echo", "not supported"))
		return
	}
	if req.Logprobs != nil && (*req.Logprobs < 0 || *req.Logprobs > maxTopLogprobs) {
		fail(badRequest("logprobs", "%d is outside [0, %d]", *req.Logprobs, maxTopLogprobs))
		return
	}
	prompts, texts, aerr := parsePrompts(req.Prompt, m.e.Tok)
	if aerr != nil {
		fail(aerr)
		return
	}
	start := s.opts.Now()
	var jobs []*genJob
	var all []choiceStream
	for i, p := range prompts {
		job := &genJob{start: start, prompt: p, promptText: texts[i]}
		if aerr := s.commonParams(m, job, &req.samplingFields, req.N, req.Stop, []tokenLimit{{"max_tokens", req.MaxTokens}}); aerr != nil {
			fail(aerr)
			return
		}
		if req.Logprobs != nil {
			job.req.Logprobs, job.req.TopLogprobs = true, *req.Logprobs
		}
		streams, aerr := s.submit(r.Context(), m, job)
		if aerr != nil {
			for _, c := range all {
				c.st.Cancel()
			}
			fail(aerr)
			return
		}
		all = append(all, streamsOf(job, streams, len(all))...)
		jobs = append(jobs, job)
	}
	id := "cmpl-" + randomID()
	created := start.Unix()
	if !req.Stream {
		res := s.run(all, func(delta) {})
		resp := completionResponse{ID: id, Object: "text_completion", Created: created, Model: m.name, Usage: usageOfAll(jobs, all, res)}
		for i, c := range res {
			if c.res.Err != nil {
				fail(engineError(c.res.Err))
				return
			}
			ch := completionChoice{Index: i, Text: c.content, FinishReason: c.finish}
			if req.Logprobs != nil {
				ch.Logprobs = legacyLogprobs(m.e.Tok, c.logprobs)
			}
			resp.Choices = append(resp.Choices, ch)
		}
		writeJSON(w, http.StatusOK, resp)
		return
	}
	sse := newSSE(w)
	res := s.run(all, func(d delta) {
		if d.final && d.res.Err != nil {
			sse.send(map[string]*apiError{"error": engineError(d.res.Err)})
			return
		}
		c := completionChoice{Index: d.index, Text: d.content}
		if req.Logprobs != nil && len(d.logprobs) > 0 {
			c.Logprobs = legacyLogprobs(m.e.Tok, d.logprobs)
		}
		if d.final {
			c.FinishReason = d.finish
		}
		sse.send(completionResponse{ID: id, Object: "text_completion", Created: created, Model: m.name, Choices: []completionChoice{c}})
	})
	if req.StreamOptions != nil && req.StreamOptions.IncludeUsage {
		sse.send(completionResponse{ID: id, Object: "text_completion", Created: created, Model: m.name,
			Choices: []completionChoice{}, Usage: usageOfAll(jobs, all, res)})
	}
	sse.done()
}

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
}

// OpenAI response shapes.
type (
	chatResponse       = envelope[chatChoice]
	chatChunk          = envelope[chunkChoice]
	completionResponse = envelope[completionChoice]

	usage struct {
		PromptTokens        int `json:"prompt_tokens"`
		CompletionTokens    int `json:"completion_tokens"`
		TotalTokens         int `json:"total_tokens"`
		PromptTokensDetails struct {
			CachedTokens int `json:"cached_tokens"`
		} `json:"prompt_tokens_details"`
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
		Index    *int   `json:"index,omitempty"`
		ID       string `json:"id"`
		Type     string `json:"type"`
		Function struct {
			Name      string `json:"name"`
			Arguments string `json:"arguments"`
		} `json:"function"`
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

func usageOf(job *genJob, res []choiceResult) *usage {
	return usageOfAll([]*genJob{job}, streamsOf(job, make([]*engine.Stream, len(res)), 0), res)
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
	}
	u.TotalTokens = u.PromptTokens + u.CompletionTokens
	return u
}

func toolCallsOut(calls []chat.ToolCall, base int, indexed bool) []toolCallOut {
	var out []toolCallOut
	for i, c := range calls {
		o := toolCallOut{ID: c.ID, Type: "function"}
		o.Function.Name, o.Function.Arguments = c.Function.Name, c.Function.Arguments
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

func randomID() string {
	const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, 24)
	rand.Read(b)
	for i := range b {
		b[i] = letters[int(b[i])%len(letters)]
	}
	return string(b)
}

// sse writes a Server-Sent Events stream.
type sse struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

func newSSE(w http.ResponseWriter) *sse {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	return &sse{w: w, rc: http.NewResponseController(w)}
}

func (s *sse) send(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		return
	}
	s.w.Write([]byte("data: "))
	s.w.Write(b)
	s.w.Write([]byte("\n\n"))
	s.rc.Flush()
}

func (s *sse) done() {
	s.w.Write([]byte("data: [DONE]\n\n"))
	s.rc.Flush()
}
