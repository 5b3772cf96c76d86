package distill

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/qilin-ai/qilin/chat"
	"github.com/qilin-ai/qilin/engine"
	"github.com/qilin-ai/qilin/remote"
	"github.com/qilin-ai/qilin/sample"
)

// generator is the part of the engine's continuous-batching scheduler that
// Local uses.
type generator interface {
	Submit(ctx context.Context, req engine.Request) (*engine.Stream, error)
	Close(ctx context.Context) error
}

// Local is a teacher run in this process: chat requests are rendered with
// the model's chat template and decoded by the engine's scheduler, which
// batches the requests in flight (its slots) into each forward step, as
// qilin serve does. Sampling defaults are qilin serve's (temperature 0.8,
// top-k 40, top-p 0.95, min-p 0.05); a request's temperature, top-p and
// seed override them, so the same request gets the same answer from a
// Local and from qilin serve on the same file. Nothing leaves the machine.
type Local struct {
	e   *engine.Engine
	gen generator
}

// Sampling defaults of a Local, as qilin serve has them (llama.cpp's
// server defaults).
const (
	localTemperature = 0.8
	localTopK        = 40
	localTopP        = 0.95
	localMinP        = 0.05
)

// NewLocal starts a scheduler on e with slots sequences decoded together,
// each with the engine's context. Close it when done.
func NewLocal(e *engine.Engine, slots int) (*Local, error) {
	slots = max(slots, 1)
	l := &Local{e: e}
	l.gen = e.NewScheduler(engine.SchedOptions{Slots: slots, MaxQueue: slots})
	return l, nil
}

// Close stops the scheduler after the requests in flight.
func (l *Local) Close() error { return l.gen.Close(context.Background()) }

// render renders msgs with the model's template, opening the assistant's
// turn; think, when set, is passed to the template as enable_thinking.
func (l *Local) render(msgs []remote.Message, think *bool) (engine.ChatPrompt, error) {
	in := chat.Input{AddGenerationPrompt: true}
	for _, m := range msgs {
		in.Messages = append(in.Messages, chat.Message{Role: m.Role, Content: m.Content, ReasoningContent: m.ReasoningContent})
	}
	if think != nil {
		in.Vars = map[string]any{"enable_thinking": *think}
	}
	return l.e.RenderChat(in)
}

// PromptTokens returns the number of tokens of msgs' rendered prompt.
func (l *Local) PromptTokens(msgs []remote.Message) (int, error) {
	p, err := l.render(msgs, nil)
	return len(p.Tokens), err
}

// Chat generates the answer to req. Streaming is implied: OnDelta, when
// set, sees each piece as it is decoded. ThinkBudget bounds the reasoning
// block as qilin serve's thinking_budget_tokens does: once it holds that
// many tokens its close is forced and the answer follows.
func (l *Local) Chat(ctx context.Context, req remote.ChatRequest) (*remote.ChatResponse, error) {
	p, err := l.render(req.Messages, req.Think)
	if err != nil {
		return nil, &remote.Error{Endpoint: "local", Status: 400, Message: err.Error()}
	}
	if b := req.ThinkBudget; b != nil && p.Reasoning != nil && (p.Reasoning.Budget < 0 || *b < p.Reasoning.Budget) {
		p.Reasoning.Budget = max(*b, 0)
	}
	params := sample.Params{Temperature: localTemperature, TopK: localTopK, TopP: localTopP, MinP: localMinP}
	if req.Temperature != nil {
		params.Temperature = float32(*req.Temperature)
	}
	if req.TopP != nil {
		params.TopP = float32(*req.TopP)
	}
	if req.Seed != nil {
		params.Seed = uint64(*req.Seed)
	}
	er := engine.Request{Prompt: p.Tokens, MaxTokens: req.MaxTokens, Sample: params, Stop: req.Stop,
		Logprobs: req.Logprobs || req.TopLogprobs > 0, TopLogprobs: req.TopLogprobs, Reasoning: p.Reasoning}
	st, err := l.gen.Submit(ctx, er)
	if err != nil {
		if errors.Is(err, engine.ErrPromptTooLong) || errors.Is(err, engine.ErrEmptyPrompt) {
			return nil, &remote.Error{Endpoint: "local", Status: 400, Message: err.Error()}
		}
		return nil, fmt.Errorf("local: %w", err)
	}
	parser := chat.NewOutputParser(chat.OutputOptions{Reasoning: true, ReasoningStartsOpen: p.StartsOpen()})
	var content, reasoning strings.Builder
	resp := &remote.ChatResponse{Model: "local", Attempts: 1}
	emit := func(d chat.Delta, lps []remote.TokenLogprob) {
		reasoning.WriteString(d.Reasoning)
		content.WriteString(d.Content)
		if req.OnDelta != nil && (d.Reasoning != "" || d.Content != "" || len(lps) > 0) {
			req.OnDelta(remote.Delta{Reasoning: d.Reasoning, Content: d.Content, Logprobs: lps})
		}
	}
	for {
		ev, ok := st.Recv()
		if !ok {
			break
		}
		var lps []remote.TokenLogprob
		if er.Logprobs && ev.Token >= 0 {
			lps = []remote.TokenLogprob{l.logprob(ev)}
			resp.Logprobs = append(resp.Logprobs, lps...)
		}
		emit(parser.Push(ev.Text), lps)
	}
	emit(parser.Flush(), nil)
	res := st.Result()
	switch {
	case res.Err != nil:
		return nil, fmt.Errorf("local: %w", res.Err)
	case res.Reason == engine.StopCancelled:
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		return nil, errors.New("local: generation cancelled")
	}
	resp.Content, resp.Reasoning = content.String(), reasoning.String()
	resp.ReasoningClosed = resp.Reasoning != "" && !parser.Truncated()
	resp.FinishReason = "stop"
	if res.Reason == engine.StopLength {
		resp.FinishReason = "length"
	}
	// Cached prompt tokens depend on which requests shared a slot before,
	// so they are left out: the answer does not.
	resp.Usage = remote.Usage{PromptTokens: res.PromptTokens, CompletionTokens: res.CompletionTokens,
		TotalTokens: res.PromptTokens + res.CompletionTokens, ReasoningTokens: res.ReasoningTokens}
	return resp, nil
}

// logprob converts an event's log-probabilities.
func (l *Local) logprob(ev engine.Event) remote.TokenLogprob {
	piece := l.e.Tok.Piece(ev.Token)
	t := remote.TokenLogprob{Token: string(piece), Logprob: finite(ev.Logprob), Bytes: piece,
		TopLogprobs: make([]remote.TopLogprob, len(ev.Top))}
	for i, a := range ev.Top {
		p := l.e.Tok.Piece(a.ID)
		t.TopLogprobs[i] = remote.TopLogprob{Token: string(p), Logprob: finite(a.Logprob), Bytes: p}
	}
	return t
}

// finite keeps -Inf, which JSON cannot carry, as -9999 (as qilin serve
// does).
func finite(x float32) float64 {
	if math.IsInf(float64(x), 0) || math.IsNaN(float64(x)) {
		return -9999
	}
	return float64(x)
}
