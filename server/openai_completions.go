package server

import (
	"encoding/json"
	"net/http"

	"github.com/qilin-ai/qilin/tokenizer"
)

// completionRequest is the body of POST /v1/completions.
type completionRequest struct {
	Model         string          `json:"model"`
	Prompt        json.RawMessage `json:"prompt"`
	Stream        bool            `json:"stream"`
	StreamOptions *streamOptions  `json:"stream_options"`
	MaxTokens     *int            `json:"max_tokens"`
	samplingFields
	N        *int     `json:"n"`
	Stop     stopList `json:"stop"`
	Logprobs *int     `json:"logprobs"`
	Echo     bool     `json:"echo"`
	structuredFields
}

// parsePrompts accepts a string, an array of strings, an array of token
// ids, or an array of arrays of token ids (each below nv, the model's
// vocabulary size).
func parsePrompts(raw json.RawMessage, tok *tokenizer.Tokenizer, nv int) ([][]int, []string, *apiError) {
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
	var many [][]int
	if ids := []int(nil); json.Unmarshal(raw, &ids) == nil && len(ids) > 0 {
		many = [][]int{ids}
	} else if json.Unmarshal(raw, &many) != nil || len(many) == 0 {
		return nil, nil, badRequest("prompt", "want a string, an array of strings, or token ids")
	}
	for _, ids := range many {
		for _, id := range ids {
			if id < 0 || id >= nv {
				return nil, nil, badRequest("prompt", "token %d is outside the vocabulary of %d tokens", id, nv)
			}
		}
	}
	return many, make([]string, len(many)), nil
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
	format, aerr := req.constraint()
	if aerr != nil {
		fail(aerr)
		return
	}
	prompts, texts, aerr := parsePrompts(req.Prompt, m.e.Tok, m.e.Model.NVocab)
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
		if aerr := s.setGrammar(m, job, format); aerr != nil {
			fail(aerr)
			return
		}
		streams, aerr := s.submit(r.Context(), w.Header(), m, job)
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
		resp := completionResponse{ID: id, Object: "text_completion", Created: created, Model: m.name,
			Usage: usageOfAll(jobs, all, res), Timings: timingsOf(jobs, all, res)}
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
	if req.StreamOptions.includeUsage() {
		sse.send(completionResponse{ID: id, Object: "text_completion", Created: created, Model: m.name,
			Choices: []completionChoice{}, Usage: usageOfAll(jobs, all, res), Timings: timingsOf(jobs, all, res)})
	}
	sse.done()
}
