package engine

import (
	"errors"
	"fmt"

	"github.com/qilin-ai/qilin/sample"
)

// Errors returned by Submit.
var (
	ErrQueueFull     = errors.New("engine: request queue is full")
	ErrPromptTooLong = errors.New("engine: prompt does not fit the context")
	ErrClosed        = errors.New("engine: scheduler is closed")
	ErrEmptyPrompt   = errors.New("engine: empty prompt")
	// ErrInvalidRequest wraps every other problem with a request: a token
	// id outside the vocabulary, a negative MaxTokens, sampling parameters
	// outside their ranges (a *sample.ParamError is wrapped too).
	ErrInvalidRequest = errors.New("engine: invalid request")
)

// StopReason says why generation ended.
type StopReason string

// Stop reasons, named as OpenAI's finish_reason values where they overlap.
const (
	StopEOG       StopReason = "stop"        // the model (or a processor) emitted an end-of-generation token
	StopLength    StopReason = "length"      // MaxTokens reached or context full
	StopCancelled StopReason = "cancelled"   // the context was cancelled or Stream.Cancel called
	StopString    StopReason = "stop_string" // a stop string matched; OpenAI reports it as "stop"
)

// Request is one generation submitted to a Scheduler.
type Request struct {
	Prompt    []int // prompt tokens (BOS included where wanted); not modified
	MaxTokens int   // generated tokens at most; 0 means until the context is full
	// Sample is the sampler's configuration. Seed 0 means a fresh random
	// seed; any other seed gives the same tokens for the same prompt
	// wherever the request comes from (CLI, API, batched or alone).
	Sample sample.Params
	// Stop strings end generation when the output text contains one; the
	// text from the stop string on is not emitted.
	Stop []string
	// Logprobs reports with each token its log-probability; TopLogprobs > 0
	// adds the TopLogprobs most likely alternatives. Both are of the model's
	// own distribution: the raw logits, before any Processor (grammar mask,
	// watermark bias) and before the sampler's penalties and temperature.
	Logprobs    bool
	TopLogprobs int
	// Reasoning, when not nil, says how the output's reasoning block is
	// written, so that the scheduler follows it (Step.Phase), bounds it
	// (Reasoning.Budget) and counts it (Result.ReasoningTokens). nil: the
	// output is all answer. RenderChat fills it in for chat prompts.
	Reasoning *Reasoning
	// Processors steer generation token by token, in order (see Processor):
	// grammars, watermarks, scripted output in tests.
	Processors []Processor
}

// Reasoning describes a request's reasoning block (<think>…</think>).
type Reasoning struct {
	// StartsOpen: the prompt opened the block (DeepSeek-R1's template ends
	// with "<think>\n"), so the output starts inside it. Otherwise the
	// block is open only when the output starts with Open (after blank
	// tokens), as chat.ReasoningParser reads it.
	StartsOpen bool
	Open       []int // tokens of the opening tag
	Close      []int // tokens of the closing tag
	// Budget bounds the tokens generated inside the block (after its opening
	// tag): once they are spent, CloseWith is forced and the answer follows.
	// 0 closes the block at once; < 0 means no bound.
	Budget int
	// CloseWith is what a spent budget forces; it must contain Close
	// ("\n</think>\n\n" reads as the model writes it). nil means Close.
	CloseWith []int
}

// validate checks req against a vocabulary of nv tokens and a slot context
// of nctx positions.
func (req *Request) validate(nv, nctx int) error {
	switch {
	case len(req.Prompt) == 0:
		return ErrEmptyPrompt
	case len(req.Prompt) >= nctx:
		return fmt.Errorf("%w: %d prompt tokens, context of %d", ErrPromptTooLong, len(req.Prompt), nctx)
	case req.MaxTokens < 0:
		return fmt.Errorf("%w: max tokens %d is negative", ErrInvalidRequest, req.MaxTokens)
	case req.TopLogprobs < 0:
		return fmt.Errorf("%w: top logprobs %d is negative", ErrInvalidRequest, req.TopLogprobs)
	}
	if err := req.Sample.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidRequest, err)
	}
	check := func(what string, toks []int) error {
		for _, t := range toks {
			if t < 0 || t >= nv {
				return fmt.Errorf("%w: %s: token %d outside the vocabulary of %d", ErrInvalidRequest, what, t, nv)
			}
		}
		return nil
	}
	if err := check("prompt", req.Prompt); err != nil {
		return err
	}
	if r := req.Reasoning; r != nil {
		if len(r.Close) == 0 || (!r.StartsOpen && len(r.Open) == 0) {
			return fmt.Errorf("%w: a reasoning block needs its tags' tokens", ErrInvalidRequest)
		}
		for _, tags := range [][]int{r.Open, r.Close, r.CloseWith} {
			if err := check("reasoning tags", tags); err != nil {
				return err
			}
		}
		if r.CloseWith != nil && indexSeq(r.CloseWith, r.Close) < 0 {
			return fmt.Errorf("%w: the reasoning budget's forced close does not hold the closing tag", ErrInvalidRequest)
		}
	}
	drawers := 0
	for i, p := range req.Processors {
		if p == nil {
			return fmt.Errorf("%w: processor %d is nil", ErrInvalidRequest, i)
		}
		if _, ok := p.(Drawer); ok {
			drawers++
		}
	}
	if drawers > 1 {
		return fmt.Errorf("%w: %d processors replace the draw; at most one may", ErrInvalidRequest, drawers)
	}
	return nil
}

// indexSeq returns the index of the first occurrence of the non-empty sub
// in s, or -1.
func indexSeq(s, sub []int) int {
	for i := 0; len(sub) > 0 && i+len(sub) <= len(s); i++ {
		if commonPrefix(s[i:], sub) == len(sub) {
			return i
		}
	}
	return -1
}

// commonPrefix returns how many leading tokens a and b share.
func commonPrefix(a, b []int) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}
