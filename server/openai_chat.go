package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// chatRequest is the body of POST /v1/chat/completions.
type chatRequest struct {
	Model               string          `json:"model"`
	Messages            json.RawMessage `json:"messages"`
	Stream              bool            `json:"stream"`
	StreamOptions       *streamOptions  `json:"stream_options"`
	MaxTokens           *int            `json:"max_tokens"`
	MaxCompletionTokens *int            `json:"max_completion_tokens"`
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
	// Modalities and Audio ask for audio output, which no model here
	// makes: they are refused rather than ignored.
	Modalities []string        `json:"modalities"`
	Audio      json.RawMessage `json:"audio"`
	structuredFields
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
		var tool toolDef
		if err := json.Unmarshal(t, &tool); err != nil || tool.Function == nil || tool.Function.Name == "" {
			return nil, badRequest(fmt.Sprintf("tools[%d]", i), "want {\"type\": \"function\", \"function\": {\"name\": ...}}")
		}
	}
	if _, err := parseToolChoice(req.ToolChoice); err != nil {
		return nil, err
	}
	if _, err := req.constraint(); err != nil {
		return nil, err
	}
	for _, m := range req.Modalities {
		if m != "text" {
			return nil, textOnly("modalities", "%q output is not supported", m)
		}
	}
	if len(req.Audio) > 0 && string(req.Audio) != "null" {
		return nil, textOnly("audio", "audio output is not supported")
	}
	return &req, nil
}

// streamOptions are a streaming request's stream_options.
type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

// includeUsage reports whether the stream ends with a usage chunk.
func (o *streamOptions) includeUsage() bool { return o != nil && o.IncludeUsage }

// toolDef is one entry of a request's tools.
type toolDef struct {
	Type     string       `json:"type"`
	Function *functionDef `json:"function"`
}

// functionDef is a tool's function: its name and its parameters' schema.
type functionDef struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters,omitempty"`
}

// contentPart is one part of a message's content given as an array.
type contentPart struct {
	Type string  `json:"type"`
	Text *string `json:"text"`
}

// normalizeMessages checks the messages array and turns content given as
// an array of text parts into a string, which every template understands:
// the parts joined with "\n", as vLLM and llama.cpp join them for templates
// that take string content (Hugging Face's apply_chat_template passes the
// list on, which only templates that loop over content can render).
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
		if aerr := checkRole(i, role); aerr != nil {
			return nil, aerr
		}
		c := fields["content"]
		if len(c) == 0 || c[0] != '[' {
			if len(c) > 0 && c[0] != '"' && string(c) != "null" {
				return nil, badRequest(fmt.Sprintf("messages[%d].content", i), "want a string or an array of content parts")
			}
			continue
		}
		var parts []contentPart
		if err := json.Unmarshal(c, &parts); err != nil {
			return nil, badRequest(fmt.Sprintf("messages[%d].content", i), "want a string or an array of content parts")
		}
		var texts []string
		for j, p := range parts {
			param := fmt.Sprintf("messages[%d].content[%d]", i, j)
			switch {
			case p.Type != "text":
				// image_url, input_audio, video_url, file, ...: never
				// dropped silently, the answer would ignore them.
				return nil, textOnly(param, "%q parts are not supported", p.Type)
			case p.Text == nil:
				return nil, badRequest(param, "a text part needs a string text")
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
	tm, _ := parseToolChoice(req.ToolChoice)
	var tools []json.RawMessage
	if tm.offer && len(req.Tools) > 0 {
		tools = req.Tools
	}
	if aerr := s.constrainChat(m, job, req, tools, tm); aerr != nil {
		fail(aerr)
		return
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
	job.parse = s.chatOutput(m, p, tools, format)
	streams, aerr := s.submit(r.Context(), w.Header(), m, job)
	if aerr != nil {
		fail(aerr)
		return
	}
	id := "chatcmpl-" + randomID()
	created := job.start.Unix()
	if !req.Stream {
		res := s.run(streamsOf(job, streams, 0), func(delta) {})
		resp := chatResponse{ID: id, Object: "chat.completion", Created: created, Model: m.name}
		resp.Usage, resp.Timings = usageOf(job, res)
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
	chunk := func(choices []chunkChoice, u *usage, t *timings) {
		sse.send(chatChunk{ID: id, Object: "chat.completion.chunk", Created: created, Model: m.name, Choices: choices, Usage: u, Timings: t})
	}
	for i := range streams {
		empty := ""
		chunk([]chunkChoice{{Index: i, Delta: chunkDelta{Role: "assistant", Content: &empty}}}, nil, nil)
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
				chunk([]chunkChoice{c}, nil, nil)
				c = chunkChoice{Index: d.index}
			}
			c.FinishReason = &d.finish
		}
		chunk([]chunkChoice{c}, nil, nil)
	})
	if req.StreamOptions.includeUsage() {
		u, t := usageOf(job, res)
		chunk([]chunkChoice{}, u, t)
	}
	sse.done()
}
