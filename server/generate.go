package server

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/qilin-ai/qilin/chat"
	"github.com/qilin-ai/qilin/engine"
	"github.com/qilin-ai/qilin/grammar"
	"github.com/qilin-ai/qilin/sample"
)

// genJob is a parsed generation request: n choices of one prompt.
type genJob struct {
	prompt     []int
	promptText string // rendered prompt, logged only with LogPrompts
	req        engine.Request
	n          int
	// parse, when not nil, splits reasoning and tool calls off the output.
	parse *chat.OutputOptions
	// grammar, when not nil, holds each choice's answer to it.
	grammar *grammar.Grammar
	start   time.Time // when the request arrived
}

// delta is one step of one choice.
type delta struct {
	index     int
	reasoning string
	content   string
	calls     []chat.ToolCall
	callBase  int // streaming index of calls[0]
	logprobs  []tokenLogprob
	final     bool // the choice ended; finish and res are set
	finish    string
	res       engine.Result
}

// tokenLogprob is a generated token with its log-probability.
type tokenLogprob struct {
	id      int
	logprob float32
	top     []sample.TokenLogprob
}

// choiceResult is a whole choice.
type choiceResult struct {
	reasoning, content string
	calls              []chat.ToolCall
	logprobs           []tokenLogprob
	finish             string
	res                engine.Result
	text               string    // the raw output text
	first, last        time.Time // when the first and the last token came (zero: none did)
}

// chatOutput returns the parser options for a chat request on m whose
// prompt was p and which offered tools (nil: none).
func (s *Server) chatOutput(m *model, p engine.ChatPrompt, tools []json.RawMessage, format string) *chat.OutputOptions {
	o := &chat.OutputOptions{}
	if format != ReasoningNone {
		o.Reasoning = true
		o.ReasoningStartsOpen = p.StartsOpen()
	}
	if tools != nil {
		o.Tools, o.ToolDefs = m.tools, tools
	}
	return o
}

// Watermark response headers (Options.Watermark).
const (
	WatermarkHeader     = "X-Qilin-Watermark"      // the key id, or "none"
	WatermarkNoteHeader = "X-Qilin-Watermark-Note" // why an answer is not marked
)

// submit starts the n choices of job, marking each with the server's
// watermark key (and saying so in h). On an error nothing keeps running.
func (s *Server) submit(ctx context.Context, h http.Header, m *model, job *genJob) ([]*engine.Stream, *apiError) {
	job.req.Prompt = job.prompt
	if s.control != nil {
		job.req.Processors = append(job.req.Processors, s.control(job.prompt)...)
	}
	mark := s.watermarkHeaders(h, job.req.Sample)
	streams := make([]*engine.Stream, 0, job.n)
	for i := 0; i < job.n; i++ {
		req := job.req
		if req.Sample.Seed != 0 {
			req.Sample.Seed += uint64(i)
		}
		if job.grammar != nil {
			// Each choice gets its own matcher, first of the processors.
			c, err := m.e.Constrain(job.grammar)
			if err != nil {
				for _, o := range streams {
					o.Cancel()
				}
				return nil, engineError(err)
			}
			req.Processors = append([]engine.Processor{c}, slices.Clip(req.Processors)...)
		}
		if mark {
			// A Processor serves one request: each choice gets its own.
			req.Processors = append(slices.Clip(req.Processors), engine.Watermark(*s.opts.Watermark))
		}
		st, err := m.sched.Submit(ctx, req)
		if err != nil {
			for _, o := range streams {
				o.Cancel()
			}
			return nil, engineError(err)
		}
		streams = append(streams, st)
	}
	if s.opts.LogPrompts {
		s.log.Info("prompt", "tokens", len(job.prompt), "text", job.promptText)
	}
	return streams, nil
}

// watermarkHeaders sets the watermark headers for a request sampled with
// p and reports whether its answers are to be marked.
func (s *Server) watermarkHeaders(h http.Header, p sample.Params) bool {
	k := s.opts.Watermark
	if k == nil {
		return false
	}
	if p.Temperature <= 0 || p.TopK == 1 {
		h.Set(WatermarkHeader, "none")
		h.Set(WatermarkNoteHeader, "greedy decoding (temperature 0) cannot carry a watermark; this answer is not marked")
		return false
	}
	h.Set(WatermarkHeader, k.ID)
	return true
}

// choiceStream is a running choice: its stream, its job and its index in
// the response.
type choiceStream struct {
	st    *engine.Stream
	job   *genJob
	index int
}

// streamsOf pairs a job's streams with response indices from base on.
func streamsOf(job *genJob, streams []*engine.Stream, base int) []choiceStream {
	out := make([]choiceStream, len(streams))
	for i, st := range streams {
		out[i] = choiceStream{st: st, job: job, index: base + i}
	}
	return out
}

// run reads every choice's stream, calling emit (serialized) with each
// delta, and returns the whole choices in order.
func (s *Server) run(cs []choiceStream, emit func(delta)) []choiceResult {
	out := make([]choiceResult, len(cs))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = s.runChoice(c.index, c.st, c.job, func(d delta) {
				mu.Lock()
				defer mu.Unlock()
				emit(d)
			})
		}()
	}
	wg.Wait()
	return out
}

func (s *Server) runChoice(idx int, st *engine.Stream, job *genJob, emit func(delta)) choiceResult {
	var parser *chat.OutputParser
	if job.parse != nil {
		parser = chat.NewOutputParser(*job.parse)
	}
	var cr choiceResult
	var text []byte
	var first, last time.Time
	add := func(d delta) {
		cr.reasoning += d.reasoning
		cr.content += d.content
		cr.calls = append(cr.calls, d.calls...)
		cr.logprobs = append(cr.logprobs, d.logprobs...)
	}
	wantLogprobs := job.req.Logprobs || job.req.TopLogprobs > 0
	for {
		ev, ok := st.Recv()
		if !ok {
			break
		}
		now := s.opts.Now()
		if ev.Token >= 0 {
			if first.IsZero() {
				first = now
				s.metrics.ttft.observe(now.Sub(job.start).Seconds())
			} else {
				s.metrics.itl.observe(now.Sub(last).Seconds())
			}
			last = now
		}
		text = append(text, ev.Text...)
		d := delta{index: idx}
		if parser != nil {
			d.callBase = parser.ToolCalls()
			p := parser.Push(ev.Text)
			d.reasoning, d.content, d.calls = p.Reasoning, p.Content, p.ToolCalls
		} else {
			d.content = ev.Text
		}
		if wantLogprobs && ev.Token >= 0 {
			d.logprobs = []tokenLogprob{{id: ev.Token, logprob: ev.Logprob, top: ev.Top}}
		}
		if d.reasoning != "" || d.content != "" || len(d.calls) > 0 || len(d.logprobs) > 0 {
			add(d)
			emit(d)
		}
	}
	res := st.Result()
	d := delta{index: idx, final: true, res: res}
	if parser != nil {
		d.callBase = parser.ToolCalls()
		p := parser.Flush()
		d.reasoning, d.content, d.calls = p.Reasoning, p.Content, p.ToolCalls
		if len(p.Warnings) > 0 {
			s.log.Warn("malformed tool call returned as content", "count", len(p.Warnings))
		}
	}
	add(d)
	d.finish = finishReason(res, len(cr.calls) > 0)
	cr.finish, cr.res, cr.text, cr.first, cr.last = d.finish, res, string(text), first, last
	emit(d)
	if n := res.CompletionTokens; n > 1 && last.After(first) {
		s.metrics.tps.observe(float64(n-1) / last.Sub(first).Seconds())
	}
	s.metrics.tokens(res)
	attrs := []any{"prompt_tokens", res.PromptTokens, "cached_tokens", res.CachedTokens,
		"completion_tokens", res.CompletionTokens, "finish", d.finish, "queued", res.Queued.Round(time.Microsecond),
		"ttft", res.FirstToken.Round(time.Microsecond)}
	if s.opts.LogPrompts {
		attrs = append(attrs, "output", cr.text)
	}
	s.log.Info("generation", attrs...)
	return cr
}

// finishReason names how a choice ended, as OpenAI does.
func finishReason(res engine.Result, calls bool) string {
	switch {
	case res.Err != nil:
		return "error"
	case calls:
		return "tool_calls"
	case res.Reason == engine.StopLength:
		return "length"
	case res.Reason == engine.StopCancelled:
		return "cancelled"
	}
	return "stop"
}

// chatInput builds the template input of a chat request.
func chatInput(messages json.RawMessage, tools []json.RawMessage, vars map[string]any) chat.Input {
	return chat.Input{RawMessages: messages, Tools: tools, AddGenerationPrompt: true, Vars: vars}
}

// renderChat renders and tokenizes a conversation; budget, when set,
// bounds the reasoning (engine.RenderChat already closes at once a block
// the template opened although thinking is off).
func (s *Server) renderChat(m *model, in chat.Input, budget *int, job *genJob) (engine.ChatPrompt, *apiError) {
	p, err := m.e.RenderChat(in)
	if err != nil {
		return p, badRequest("messages", "%v", err)
	}
	job.prompt, job.promptText = p.Tokens, p.Text
	if r := p.Reasoning; r != nil && budget != nil {
		r.Budget = *budget
	}
	job.req.Reasoning = p.Reasoning
	return p, nil
}
