package eval

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/qilin-ai/qilin/distill"
	"github.com/qilin-ai/qilin/engine"
	"github.com/qilin-ai/qilin/internal/logitcmp"
	"github.com/qilin-ai/qilin/remote"
)

// Local is a GGUF model run in this process: chat requests go through the
// engine's continuous-batching scheduler (distill.Local, as qilin serve
// runs them), and log-likelihoods and perplexity are read from the
// model's logits on one sequence of its own.
type Local struct {
	e    *engine.Engine
	chat *distill.Local
	seq  *engine.Sequence
}

// NewLocal starts a scheduler with slots sequences decoded together.
// Close it when done.
func NewLocal(e *engine.Engine, slots int) (*Local, error) {
	c, err := distill.NewLocal(e, slots)
	if err != nil {
		return nil, err
	}
	return &Local{e: e, chat: c}, nil
}

// Close stops the scheduler.
func (l *Local) Close() error { return l.chat.Close() }

// Chat generates an answer.
func (l *Local) Chat(ctx context.Context, req remote.ChatRequest) (*remote.ChatResponse, error) {
	return l.chat.Chat(ctx, req)
}

func (l *Local) sequence() *engine.Sequence {
	if l.seq == nil {
		l.seq = l.e.NewSequence()
	}
	return l.seq
}

// encode tokenizes plain text, with the BOS the model's metadata asks
// for when bos is set.
func (l *Local) encode(text string, bos bool) ([]int, error) {
	return l.e.Tok.Encode(text, bos && l.e.Tok.AddBOS(), false)
}

// LogLik returns the log-likelihood of each continuation after context,
// as lm-evaluation-harness computes it: the context's trailing spaces move
// to the continuation, the pair is tokenized whole, and the continuation
// is the tokens after those of the context alone; each is the sum of the
// log-probabilities of its tokens. It is not safe for concurrent use.
func (l *Local) LogLik(ctx context.Context, context string, continuations []string) ([]float64, error) {
	trimmed := strings.TrimRight(context, " ")
	moved := context[len(trimmed):]
	ctxToks, err := l.encode(trimmed, true)
	if err != nil {
		return nil, err
	}
	s := l.sequence()
	out := make([]float64, len(continuations))
	for i, c := range continuations {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		contToks, err := l.continuation(ctxToks, trimmed, moved+c)
		if err != nil {
			return nil, err
		}
		n := len(ctxToks)
		// The context's own tokens, then the continuation's.
		seq := append(append([]int(nil), ctxToks...), contToks...)
		if len(seq) > l.e.Context() {
			return nil, fmt.Errorf("eval: %d tokens of context and continuation > the context of %d", len(seq), l.e.Context())
		}
		// Evaluate from the last context token the cache holds, so that
		// its logits predict the continuation's first token.
		keep := max(0, min(commonPrefix(s.Tokens(), seq), n)-1)
		s.Reset(keep)
		sum := 0.0
		err = s.Eval(seq[keep:], true, func(j int, logits []float32) {
			pos := keep + j // logits at pos predict seq[pos+1]
			if pos >= n-1 && pos+1 < len(seq) {
				sum += logitcmp.LogSoftmax(logits)[seq[pos+1]]
			}
		})
		if err != nil {
			return nil, err
		}
		out[i] = sum
	}
	return out, nil
}

// continuation returns the tokens of cont after the context's ctxToks:
// those of the pair tokenized whole after the context's own, as
// lm-evaluation-harness splits them, or, where the pair's tokens do not
// begin with the context's (a tokenizer without merge scores may
// retokenize the context's end), cont tokenized alone.
func (l *Local) continuation(ctxToks []int, context, cont string) ([]int, error) {
	if len(ctxToks) == 0 {
		return nil, fmt.Errorf("eval: empty context before continuation %q", cont)
	}
	whole, err := l.encode(context+cont, true)
	if err != nil {
		return nil, err
	}
	n := len(ctxToks)
	if len(whole) > n && slices.Equal(whole[:n], ctxToks) {
		return whole[n:], nil
	}
	alone, err := l.encode(cont, false)
	if err != nil {
		return nil, err
	}
	if len(alone) == 0 {
		return nil, fmt.Errorf("eval: continuation %q adds no token to its context", cont)
	}
	return alone, nil
}

func commonPrefix(a, b []int) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

// PerplexityChunk is one chunk of a perplexity run.
type PerplexityChunk struct {
	NLL    float64 // summed negative log-likelihood of the scored tokens
	Tokens int     // tokens scored
}

// Chunks splits text into the chunks Perplexity scores, as llama.cpp's
// perplexity tool does: tokenized without BOS, cut into chunks of size
// tokens (at most the model's context), each scored on its second half.
func (l *Local) Chunks(text string, size int) ([][]int, error) {
	toks, err := l.encode(text, false)
	if err != nil {
		return nil, err
	}
	size = min(size, l.e.Context())
	if size < 4 {
		return nil, fmt.Errorf("eval: perplexity chunks of %d tokens", size)
	}
	var chunks [][]int
	for start := 0; start+size <= len(toks); start += size {
		chunks = append(chunks, toks[start:start+size])
	}
	if len(chunks) == 0 {
		return nil, fmt.Errorf("eval: the text has %d tokens, less than one chunk of %d", len(toks), size)
	}
	return chunks, nil
}

// Perplexity scores one chunk: its first token becomes BOS where the
// model adds one, and the tokens of its second half are scored, each
// given all before it.
func (l *Local) Perplexity(ctx context.Context, chunk []int) (PerplexityChunk, error) {
	if err := ctx.Err(); err != nil {
		return PerplexityChunk{}, err
	}
	toks := append([]int(nil), chunk...)
	if l.e.Tok.AddBOS() && l.e.Tok.BOS() >= 0 {
		toks[0] = l.e.Tok.BOS()
	}
	first := len(toks) / 2
	s := l.sequence()
	s.Reset(0)
	var r PerplexityChunk
	err := s.Eval(toks, true, func(j int, logits []float32) {
		if j >= first && j+1 < len(toks) {
			r.NLL -= logitcmp.LogSoftmax(logits)[toks[j+1]]
			r.Tokens++
		}
	})
	if errors.Is(err, engine.ErrContextFull) {
		return r, fmt.Errorf("eval: perplexity chunk: %w", err)
	}
	return r, err
}
