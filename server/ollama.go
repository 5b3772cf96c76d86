package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/qilin-ai/qilin/chat"
)

// ollamaOptions are the Ollama "options" a generation uses; the sampling
// ones have OpenAI's names.
type ollamaOptions struct {
	samplingFields
	NumPredict *int     `json:"num_predict"`
	Stop       stopList `json:"stop"`
}

type ollamaToolCall struct {
	Function ollamaFunctionCall `json:"function"`
}

type ollamaFunctionCall struct {
	Index     int             `json:"index,omitempty"`
	Name      string          `json:"name"`
	Arguments json.RawMessage `json:"arguments"`
}

type ollamaMessage struct {
	Role      string           `json:"role"`
	Content   string           `json:"content"`
	Thinking  string           `json:"thinking,omitempty"`
	Images    []string         `json:"images,omitempty"`
	ToolCalls []ollamaToolCall `json:"tool_calls,omitempty"`
	ToolName  string           `json:"tool_name,omitempty"`
}

// ollamaCommon are the fields /api/chat and /api/generate share.
type ollamaCommon struct {
	Model   string          `json:"model"`
	Think   json.RawMessage `json:"think"`
	Stream  *bool           `json:"stream"`
	Options *ollamaOptions  `json:"options"`
	Format  json.RawMessage `json:"format"`
}

type ollamaChatRequest struct {
	ollamaCommon
	Messages []ollamaMessage   `json:"messages"`
	Tools    []json.RawMessage `json:"tools"`
}

type ollamaGenerateRequest struct {
	ollamaCommon
	Prompt string   `json:"prompt"`
	System string   `json:"system"`
	Raw    bool     `json:"raw"`
	Images []string `json:"images"`
}

// think reads Ollama's think field: absent (nil), a boolean, or an effort
// level ("low", "medium", "high"), which means on.
func parseThink(raw json.RawMessage) (on *bool, effort string, err *apiError) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, "", nil
	}
	var b bool
	if json.Unmarshal(raw, &b) == nil {
		return &b, "", nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil && (s == "low" || s == "medium" || s == "high") {
		t := true
		return &t, s, nil
	}
	return nil, "", badRequest("think", "want true, false, \"low\", \"medium\" or \"high\"")
}

// ollamaThink is a request's thinking choice: off (think: false) and the
// template variables it sets (enable_thinking for think, reasoning_effort
// for an effort level).
type ollamaThink struct {
	off  bool
	vars map[string]any
}

// prepare decodes the body of an /api/chat or /api/generate request into
// req, checks what the two share (c, the fields of req they have in
// common) and returns the job with its sampling and the thinking choice.
func (s *Server) prepare(r *http.Request, m *model, req any, c *ollamaCommon) (*genJob, ollamaThink, *apiError) {
	var th ollamaThink
	if aerr := decodeBody(r, req); aerr != nil {
		return nil, th, aerr
	}
	if aerr := m.checkModel(c.Model); aerr != nil {
		return nil, th, aerr
	}
	format, ferr := ollamaFormat(c.Format)
	if ferr != nil {
		return nil, th, ferr
	}
	think, effort, aerr := parseThink(c.Think)
	if aerr != nil {
		return nil, th, aerr
	}
	th.vars = map[string]any{}
	if think != nil {
		if *think && !m.e.CanThink() { // as Ollama answers
			return nil, th, badRequest("", "%q does not support thinking", c.Model)
		}
		th.off = !*think
		th.vars["enable_thinking"] = *think
	}
	if effort != "" {
		th.vars["reasoning_effort"] = effort
	}
	job := &genJob{start: s.opts.Now(), n: 1}
	opts := c.Options
	if opts == nil {
		opts = &ollamaOptions{}
	}
	var np *int
	if opts.NumPredict != nil && *opts.NumPredict > 0 { // -1 and -2 mean no limit
		np = opts.NumPredict
	}
	if aerr = s.commonParams(m, job, &opts.samplingFields, nil, opts.Stop, []tokenLimit{{"options.num_predict", np}}); aerr != nil {
		return nil, th, aerr
	}
	return job, th, s.setGrammar(m, job, format)
}

func (s *Server) ollamaChat(w http.ResponseWriter, r *http.Request, m *model) {
	fail := func(e *apiError) { writeOllamaError(w, e) }
	var req ollamaChatRequest
	job, th, aerr := s.prepare(r, m, &req, &req.ollamaCommon)
	if aerr != nil {
		fail(aerr)
		return
	}
	if len(req.Messages) == 0 { // Ollama loads the model and answers done
		s.ollamaLoaded(w, m, "message")
		return
	}
	msgs, aerr := ollamaMessages(req.Messages)
	if aerr != nil {
		fail(aerr)
		return
	}
	var tools []json.RawMessage
	if len(req.Tools) > 0 {
		tools = req.Tools
	}
	p, aerr := s.renderChat(m, chatInput(msgs, tools, th.vars), nil, job)
	if aerr != nil {
		fail(aerr)
		return
	}
	job.parse = s.chatOutput(m, p, tools, s.opts.ReasoningFormat)
	s.ollamaStream(w, r, m, job, req.Stream, th.off, true)
}

// ollamaMessages converts Ollama messages to the OpenAI-shaped JSON the
// templates read.
func ollamaMessages(in []ollamaMessage) (json.RawMessage, *apiError) {
	out := make([]map[string]any, len(in))
	for i, msg := range in {
		if msg.Role == "" {
			return nil, badRequest(fmt.Sprintf("messages[%d].role", i), "want a non-empty string")
		}
		if aerr := checkRole(i, msg.Role); aerr != nil {
			return nil, aerr
		}
		if len(msg.Images) > 0 {
			return nil, textOnly(fmt.Sprintf("messages[%d].images", i), "images are not supported")
		}
		o := map[string]any{"role": msg.Role, "content": msg.Content}
		if msg.Thinking != "" {
			o["reasoning_content"] = msg.Thinking
		}
		if msg.ToolName != "" {
			o["name"] = msg.ToolName
		}
		if len(msg.ToolCalls) > 0 {
			calls := make([]map[string]any, len(msg.ToolCalls))
			for k, tc := range msg.ToolCalls {
				args := tc.Function.Arguments
				if len(args) == 0 {
					args = json.RawMessage("{}")
				}
				calls[k] = map[string]any{"type": "function", "function": map[string]any{"name": tc.Function.Name, "arguments": args}}
			}
			o["tool_calls"] = calls
		}
		out[i] = o
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, badRequest("messages", "%v", err)
	}
	return b, nil
}

func (s *Server) ollamaGenerate(w http.ResponseWriter, r *http.Request, m *model) {
	fail := func(e *apiError) { writeOllamaError(w, e) }
	var req ollamaGenerateRequest
	job, th, aerr := s.prepare(r, m, &req, &req.ollamaCommon)
	if aerr != nil {
		fail(aerr)
		return
	}
	if len(req.Images) > 0 {
		fail(textOnly("images", "images are not supported"))
		return
	}
	if req.Prompt == "" {
		s.ollamaLoaded(w, m, "response")
		return
	}
	if req.Raw || !m.e.HasTemplate() {
		// raw, or a model without a chat template (a base or story
		// model): complete the prompt as it is, after the system text.
		text := req.Prompt
		if req.System != "" && !req.Raw {
			text = req.System + "\n\n" + text
		}
		ids, err := m.e.Tok.Encode(text, true, true)
		if err != nil {
			fail(badRequest("prompt", "%v", err))
			return
		}
		job.prompt, job.promptText = ids, text
	} else {
		var msgs []ollamaMessage
		if req.System != "" {
			msgs = append(msgs, ollamaMessage{Role: "system", Content: req.System})
		}
		raw, aerr := ollamaMessages(append(msgs, ollamaMessage{Role: "user", Content: req.Prompt}))
		if aerr != nil {
			fail(aerr)
			return
		}
		p, aerr := s.renderChat(m, chatInput(raw, nil, th.vars), nil, job)
		if aerr != nil {
			fail(aerr)
			return
		}
		job.parse = s.chatOutput(m, p, nil, s.opts.ReasoningFormat)
	}
	s.ollamaStream(w, r, m, job, req.Stream, th.off, false)
}

// ollamaLoaded answers a request without input, which Ollama clients send
// to load a model.
func (s *Server) ollamaLoaded(w http.ResponseWriter, m *model, field string) {
	resp := map[string]any{"model": m.name, "created_at": s.opts.Now().UTC().Format(time.RFC3339Nano), "done": true, "done_reason": "load"}
	if field == "message" {
		resp["message"] = map[string]string{"role": "assistant", "content": ""}
	} else {
		resp["response"] = ""
	}
	writeJSON(w, http.StatusOK, resp)
}

// ollamaReply is a line of an Ollama chat or generate response.
type ollamaReply struct {
	Model     string         `json:"model"`
	CreatedAt string         `json:"created_at"`
	Message   *ollamaMessage `json:"message,omitempty"`
	Response  *string        `json:"response,omitempty"`
	Thinking  string         `json:"thinking,omitempty"`
	Done      bool           `json:"done"`
	ollamaStats
}

type ollamaStats struct {
	DoneReason         string `json:"done_reason,omitempty"`
	TotalDuration      int64  `json:"total_duration,omitempty"`
	LoadDuration       int64  `json:"load_duration,omitempty"`
	PromptEvalCount    int    `json:"prompt_eval_count,omitempty"`
	PromptEvalDuration int64  `json:"prompt_eval_duration,omitempty"`
	EvalCount          int    `json:"eval_count,omitempty"`
	EvalDuration       int64  `json:"eval_duration,omitempty"`
}

// ollamaStream runs job and writes NDJSON lines (stream, the default) or
// one object. dropThinking discards reasoning (think: false).
func (s *Server) ollamaStream(w http.ResponseWriter, r *http.Request, m *model, job *genJob, stream *bool, dropThinking, isChat bool) {
	streams, aerr := s.submit(r.Context(), w.Header(), m, job)
	if aerr != nil {
		writeOllamaError(w, aerr)
		return
	}
	reply := func(content, thinking string, calls []chat.ToolCall) ollamaReply {
		if dropThinking {
			thinking = ""
		}
		o := ollamaReply{Model: m.name, CreatedAt: s.opts.Now().UTC().Format(time.RFC3339Nano)}
		if isChat {
			o.Message = &ollamaMessage{Role: "assistant", Content: content, Thinking: thinking}
			for _, c := range calls {
				var tc ollamaToolCall
				tc.Function.Name, tc.Function.Arguments = c.Function.Name, json.RawMessage(c.Function.Arguments)
				if !json.Valid(tc.Function.Arguments) {
					tc.Function.Arguments, _ = json.Marshal(c.Function.Arguments)
				}
				o.Message.ToolCalls = append(o.Message.ToolCalls, tc)
			}
		} else {
			o.Response, o.Thinking = &content, thinking
		}
		return o
	}
	stats := func(c choiceResult) ollamaStats {
		total := s.opts.Now().Sub(job.start)
		first := c.res.FirstToken
		reason := c.finish
		if reason == "tool_calls" { // Ollama says stop
			reason = "stop"
		}
		return ollamaStats{DoneReason: reason, TotalDuration: int64(total), PromptEvalCount: c.res.PromptTokens,
			PromptEvalDuration: int64(first), EvalCount: c.res.CompletionTokens, EvalDuration: int64(total - first)}
	}
	if stream != nil && !*stream {
		c := s.run(streamsOf(job, streams, 0), func(delta) {})[0]
		if c.res.Err != nil {
			writeOllamaError(w, engineError(c.res.Err))
			return
		}
		o := reply(c.content, c.reasoning, c.calls)
		o.Done, o.ollamaStats = true, stats(c)
		writeJSON(w, http.StatusOK, o)
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	enc := json.NewEncoder(w)
	s.run(streamsOf(job, streams, 0), func(d delta) {
		if d.final && d.res.Err != nil {
			enc.Encode(map[string]string{"error": engineError(d.res.Err).Message})
			rc.Flush()
			return
		}
		if d.content != "" || (d.reasoning != "" && !dropThinking) || len(d.calls) > 0 {
			enc.Encode(reply(d.content, d.reasoning, d.calls))
		}
		if d.final {
			o := reply("", "", nil)
			o.Done, o.ollamaStats = true, stats(choiceResult{finish: d.finish, res: d.res})
			enc.Encode(o)
		}
		rc.Flush()
	})
}
