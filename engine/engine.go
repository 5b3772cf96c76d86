package engine

import (
	"errors"
	"fmt"
	"sync"

	"github.com/qilin-ai/qilin/chat"
	"github.com/qilin-ai/qilin/gguf"
	"github.com/qilin-ai/qilin/grammar"
	"github.com/qilin-ai/qilin/kernels"
	"github.com/qilin-ai/qilin/model"
	"github.com/qilin-ai/qilin/tokenizer"
)

// Options configures Load. The zero value is usable.
type Options struct {
	Threads   int  // worker threads; 0 means all CPUs
	Context   int  // positions per sequence; 0 means min(training context, 4096)
	BatchSize int  // tokens per prefill step; 0 means 512
	NoMmap    bool // read the file into memory instead of mapping it
	// ChatTemplate, when set, replaces the model's chat template (Jinja
	// source); Load fails when it does not compile.
	ChatTemplate string
}

// Engine is a loaded model ready to generate.
type Engine struct {
	File  *gguf.File
	Model *model.Model
	Tok   *tokenizer.Tokenizer
	Pool  *kernels.Pool
	opts  Options

	tmpl        *chat.Template
	tmplWarning string
	tags        reasoningTags

	vocabOnce sync.Once // GrammarVocab
	vocab     *grammar.Vocab
	vocabErr  error
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
	tmpl, warning, err := LoadTemplate(f, opts.ChatTemplate)
	if err != nil {
		return nil, fmt.Errorf("engine: chat template: %w", err)
	}
	tags, err := newReasoningTags(tok)
	if err != nil {
		return nil, err
	}
	return &Engine{File: f, Model: m, Tok: tok, Pool: kernels.NewPool(opts.Threads), opts: opts,
		tmpl: tmpl, tmplWarning: warning, tags: tags}, nil
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

// Reset forgets every evaluated token but the first keep, or fewer where
// the model cannot resume there (a recurrent state resumes only at its end
// or at a snapshot); Tokens says what was kept.
func (s *Sequence) Reset(keep int) { s.tokens = s.tokens[:s.cache.Seek(min(keep, len(s.tokens)))] }

// MarkSnapshot asks the sequence to keep its recurrent states as they are
// after its first n tokens, once it has evaluated them, so that Reset(n)
// resumes there (model.Cache.MarkSnapshot: one mark at a time). An
// attention-only model resumes anywhere without it.
func (s *Sequence) MarkSnapshot(n int) { s.cache.MarkSnapshot(n) }

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
