package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/qilin-ai/qilin/chat"
	"github.com/qilin-ai/qilin/gguf"
	"github.com/qilin-ai/qilin/kernels"
	"github.com/qilin-ai/qilin/model"
	"github.com/qilin-ai/qilin/sample"
	"github.com/qilin-ai/qilin/tokenizer"
)

// Options configures Load. The zero value is usable.
type Options struct {
	Threads   int  // worker threads; 0 means all CPUs
	Context   int  // positions per sequence; 0 means min(training context, 4096)
	BatchSize int  // tokens per prefill step; 0 means 512
	NoMmap    bool // read the file into memory instead of mapping it
}

// Engine is a loaded model ready to generate.
type Engine struct {
	File  *gguf.File
	Model *model.Model
	Tok   *tokenizer.Tokenizer
	Pool  *kernels.Pool
	opts  Options

	tmplOnce sync.Once
	tmpl     *chat.Template
	tmplErr  error
}

// Load opens a GGUF model file and prepares it for generation.
func Load(path string, opts Options) (*Engine, error) {
	f, err := gguf.OpenWith(path, gguf.Options{NoMmap: opts.NoMmap})
	if err != nil {
		return nil, err
	}
	e, err := New(f, opts)
	if err != nil {
		f.Close()
		return nil, err
	}
	return e, nil
}

// New prepares an already open file. The engine owns f from then on.
func New(f *gguf.File, opts Options) (*Engine, error) {
	m, err := model.Load(f)
	if err != nil {
		return nil, err
	}
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		return nil, err
	}
	if opts.Context <= 0 {
		opts.Context = min(m.NCtxTrain, 4096)
		if opts.Context <= 0 {
			opts.Context = 4096
		}
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 512
	}
	opts.BatchSize = min(opts.BatchSize, opts.Context)
	return &Engine{File: f, Model: m, Tok: tok, Pool: kernels.NewPool(opts.Threads), opts: opts}, nil
}

// Context returns the number of positions per sequence.
func (e *Engine) Context() int { return e.opts.Context }

// Close releases the worker threads and the file.
func (e *Engine) Close() error {
	e.Pool.Close()
	return e.File.Close()
}

// Sequence is one conversation's state: the tokens in its cache and the
// buffers to evaluate more. It is not safe for concurrent use.
type Sequence struct {
	e      *Engine
	runner *model.Runner
	cache  *model.Cache
	tokens []int // tokens whose keys and values are in the cache
	batch  model.Batch
	logits []float32 // (n, n_vocab): one row, or a batch's rows once all logits were asked for
}

// NewSequence allocates a sequence with its own cache.
func (e *Engine) NewSequence() *Sequence { return e.NewSequenceBatch(e.opts.BatchSize) }

// NewSequenceBatch allocates a sequence that evaluates up to bs tokens per
// forward step (at most the context length).
func (e *Engine) NewSequenceBatch(bs int) *Sequence {
	bs = max(1, min(bs, e.opts.Context))
	s := &Sequence{
		e:      e,
		runner: e.Model.NewRunner(e.Pool, bs, e.opts.Context),
		cache:  e.Model.NewCache(e.opts.Context),
		tokens: make([]int, 0, e.opts.Context),
		logits: make([]float32, e.Model.NVocab),
		batch: model.Batch{
			Tokens: make([]int, 0, bs), Pos: make([]int, 0, bs),
			Caches: make([]*model.Cache, 0, bs), Logits: make([]bool, 0, bs),
		},
	}
	return s
}

// Tokens returns the tokens evaluated so far.
func (s *Sequence) Tokens() []int { return s.tokens }

// Reset forgets every evaluated token (keeping the first keep tokens).
func (s *Sequence) Reset(keep int) { s.tokens = s.tokens[:min(keep, len(s.tokens))] }

// ErrContextFull is returned when a sequence would exceed its context.
var ErrContextFull = errors.New("engine: context is full")

// Eval appends toks to the sequence, evaluating them in batches. It calls
// fn, when not nil, with the logits after each token (only the last one when
// all is false). The logits slice is reused by the next call.
func (s *Sequence) Eval(toks []int, all bool, fn func(i int, logits []float32)) error {
	if len(s.tokens)+len(toks) > s.e.opts.Context {
		return fmt.Errorf("%w: %d tokens + %d new > %d", ErrContextFull, len(s.tokens), len(toks), s.e.opts.Context)
	}
	nv := s.e.Model.NVocab
	bs := cap(s.batch.Tokens)
	if all && fn != nil && len(s.logits) < bs*nv {
		s.logits = make([]float32, bs*nv)
	}
	for start := 0; start < len(toks); start += bs {
		chunk := toks[start:min(start+bs, len(toks))]
		b := &s.batch
		b.Tokens, b.Pos, b.Caches, b.Logits = b.Tokens[:0], b.Pos[:0], b.Caches[:0], b.Logits[:0]
		for i, t := range chunk {
			want := all || start+i == len(toks)-1
			b.Tokens = append(b.Tokens, t)
			b.Pos = append(b.Pos, len(s.tokens)+i)
			b.Caches = append(b.Caches, s.cache)
			b.Logits = append(b.Logits, want && fn != nil)
		}
		if err := s.runner.Forward(b, s.logits); err != nil {
			return err
		}
		s.tokens = append(s.tokens, chunk...)
		if fn == nil {
			continue
		}
		o := 0
		for i := range chunk {
			if b.Logits[i] {
				fn(start+i, s.logits[o*nv:(o+1)*nv])
				o++
			}
		}
	}
	return nil
}

// GenerateOptions controls Generate.
type GenerateOptions struct {
	MaxTokens int           // stop after this many tokens; 0 means until the context is full
	Sample    sample.Params // sampling parameters
	// KeepEOG reports end-of-generation tokens to OnToken before stopping.
	KeepEOG bool
}

// StopReason says why generation ended.
type StopReason string

// Stop reasons, named as OpenAI's finish_reason values where they overlap.
const (
	StopEOG       StopReason = "stop"      // the model emitted an end-of-generation token
	StopLength    StopReason = "length"    // MaxTokens reached or context full
	StopCancelled StopReason = "cancelled" // ctx was cancelled or OnToken returned false
)

// Generate evaluates prompt and then samples tokens one at a time, calling
// onToken with each, until an end-of-generation token, MaxTokens, a full
// context, ctx cancellation, or onToken returning false.
func (s *Sequence) Generate(ctx context.Context, prompt []int, opts GenerateOptions, onToken func(tok int) bool) (StopReason, error) {
	sampler := sample.New(opts.Sample)
	var last []float32
	if err := s.Eval(prompt, false, func(_ int, l []float32) { last = l }); err != nil {
		return "", err
	}
	if last == nil {
		return "", errors.New("engine: empty prompt")
	}
	next := []int{0}
	for n := 0; opts.MaxTokens <= 0 || n < opts.MaxTokens; n++ {
		if err := ctx.Err(); err != nil {
			return StopCancelled, nil
		}
		tok := sampler.Sample(last, s.tokens)
		if s.e.Tok.IsEOG(tok) {
			if opts.KeepEOG {
				onToken(tok)
			}
			return StopEOG, nil
		}
		if !onToken(tok) {
			return StopCancelled, nil
		}
		if len(s.tokens) >= s.e.opts.Context {
			return StopLength, nil
		}
		next[0] = tok
		if err := s.Eval(next, false, func(_ int, l []float32) { last = l }); err != nil {
			return "", err
		}
	}
	return StopLength, nil
}
