package engine

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/qilin-ai/qilin/model"
	"github.com/qilin-ai/qilin/sample"
)

// SchedOptions configures a Scheduler. The zero value is usable.
type SchedOptions struct {
	// Slots is the number of sequences decoded together; 0 means 4.
	Slots int
	// SlotContext is the number of positions of each slot's cache; 0
	// means the engine's context (Options.Context).
	SlotContext int
	// MaxQueue is how many requests may wait for a free slot; a request
	// beyond it fails with ErrQueueFull. 0 means 64, negative means none
	// may wait.
	MaxQueue int
	// PrefillChunk bounds the prompt tokens evaluated in a step that also
	// decodes running streams, over all slots, so that a long prompt delays
	// them by one chunk at a time; 0 means 64. A step with no running
	// stream takes up to max(PrefillChunk, 256) prompt tokens.
	PrefillChunk int
	// NoPrefixCache disables the reuse of a slot's cached prompt prefix.
	NoPrefixCache bool
}

// idleChunk is the prefill bound of a step without decode tokens.
const idleChunk = 256

// Scheduler is the one generation path: everything that generates (the
// CLI with one slot, the server with many, distillation and evaluation
// with a local model) submits Requests to it. A single goroutine builds
// each forward step from the next token of every decoding slot plus a
// bounded chunk of pending prompt tokens, so the weights are read once for
// all sequences, requests join between steps and finished ones leave. Each
// slot keeps its cache after its request ends, and a new request takes the
// free slot whose cached tokens share the longest prefix with its prompt
// (or copies a busy slot's prefix) to skip that part of the prefill.
//
// The logits of a token do not depend on what else is in its batch, so
// greedy output is identical whether a request runs alone or with others,
// and a seeded request draws the same tokens either way.
type Scheduler struct {
	e      *Engine
	opts   SchedOptions
	runner *model.Runner
	slots  []*slot
	batch  model.Batch
	logits []float32 // (slots, n_vocab)
	eog    []int     // end-of-generation token ids

	mu       sync.Mutex
	waiting  []*job
	closed   bool
	wake     chan struct{}
	loopDone chan struct{}
	useClock uint64

	running atomic.Int64
	nWait   atomic.Int64
	kvUsed  atomic.Int64
	stats   struct {
		prompt, cached, generated, steps, requests atomic.Int64
	}
}

// NewScheduler starts a scheduler on e. It owns e's worker pool while it
// runs: do not use Sequences of e until Close returns.
func (e *Engine) NewScheduler(opts SchedOptions) *Scheduler {
	if opts.Slots <= 0 {
		opts.Slots = 4
	}
	if opts.SlotContext <= 0 {
		opts.SlotContext = e.opts.Context
	}
	if opts.MaxQueue == 0 {
		opts.MaxQueue = 64
	}
	if opts.PrefillChunk <= 0 {
		opts.PrefillChunk = 64
	}
	maxBatch := opts.Slots + max(opts.PrefillChunk, idleChunk)
	nv := e.Model.NVocab
	s := &Scheduler{
		e:        e,
		opts:     opts,
		runner:   e.Model.NewRunner(e.Pool, maxBatch, opts.SlotContext),
		logits:   make([]float32, opts.Slots*nv),
		wake:     make(chan struct{}, 1),
		loopDone: make(chan struct{}),
		batch: model.Batch{
			Tokens: make([]int, 0, maxBatch), Pos: make([]int, 0, maxBatch),
			Caches: make([]*model.Cache, 0, maxBatch), Logits: make([]bool, 0, maxBatch),
		},
	}
	for id := range min(nv, e.Tok.VocabSize()) {
		if e.Tok.IsEOG(id) {
			s.eog = append(s.eog, id)
		}
	}
	for range opts.Slots {
		s.slots = append(s.slots, newSlot(e.Model, opts.SlotContext))
	}
	go s.loop()
	return s
}

// Options returns the options in effect (defaults filled in).
func (s *Scheduler) Options() SchedOptions { return s.opts }

// SchedStats is a snapshot of a scheduler's load and counters.
type SchedStats struct {
	Running, Waiting int   // requests in slots, requests queued
	Slots            int   // parallel slots
	KVUsed, KVTotal  int   // cache positions held by running requests, all positions
	PromptTokens     int64 // prompt tokens of finished and running requests
	CachedTokens     int64 // of which reused from a cache
	GeneratedTokens  int64 // tokens generated
	Steps            int64 // forward steps run
	Requests         int64 // requests admitted to a slot
}

// Stats returns current figures; safe to call from any goroutine.
func (s *Scheduler) Stats() SchedStats {
	return SchedStats{
		Running: int(s.running.Load()), Waiting: int(s.nWait.Load()), Slots: len(s.slots),
		KVUsed: int(s.kvUsed.Load()), KVTotal: len(s.slots) * s.opts.SlotContext,
		PromptTokens: s.stats.prompt.Load(), CachedTokens: s.stats.cached.Load(),
		GeneratedTokens: s.stats.generated.Load(), Steps: s.stats.steps.Load(),
		Requests: s.stats.requests.Load(),
	}
}

// job is a submitted request with its bookkeeping.
type job struct {
	req       Request
	st        *Stream
	ctx       context.Context
	cancelled atomic.Bool
	submitted time.Time
	queued    time.Duration
	first     time.Duration
	stop      func() bool // unregisters the context watch
}

// Submit queues req and returns its stream. The request ends when it
// finishes, when ctx is cancelled, or on Stream.Cancel; a cancelled request
// leaves its slot before the next step. Submit fails at once with
// ErrPromptTooLong, ErrEmptyPrompt, ErrInvalidRequest, ErrQueueFull or
// ErrClosed (wrapped).
func (s *Scheduler) Submit(ctx context.Context, req Request) (*Stream, error) {
	if err := req.validate(s.e.Model.NVocab, s.opts.SlotContext); err != nil {
		return nil, err
	}
	req.Sample.Seed = Seed(req.Sample)
	jctx, cancel := context.WithCancel(ctx)
	j := &job{req: req, ctx: jctx, submitted: time.Now(), st: newStream(cancel)}
	// Watch the context before the loop can see the job.
	j.stop = context.AfterFunc(jctx, func() {
		j.cancelled.Store(true)
		s.signal()
	})
	refuse := func(err error) (*Stream, error) {
		j.stop()
		cancel()
		return nil, err
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return refuse(ErrClosed)
	}
	free := len(s.slots) - int(s.running.Load())
	if len(s.waiting) >= free+max(s.opts.MaxQueue, 0) {
		n := len(s.waiting)
		s.mu.Unlock()
		return refuse(fmt.Errorf("%w (%d waiting)", ErrQueueFull, n))
	}
	s.waiting = append(s.waiting, j)
	s.nWait.Store(int64(len(s.waiting)))
	s.mu.Unlock()
	s.signal()
	return j.st, nil
}

// Seed is the seed policy of every entry point: a request's own seed when
// it has one, a fresh random one (never 0) when it samples with Seed 0,
// and 0 for greedy requests, which draw nothing.
func Seed(p sample.Params) uint64 {
	if p.Seed == 0 && p.Temperature > 0 {
		return rand.Uint64() | 1
	}
	return p.Seed
}

// Close stops accepting requests and waits for the running and queued ones
// to finish; when ctx ends first, it cancels them. It returns after the
// scheduler's goroutine has stopped.
func (s *Scheduler) Close(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.signal()
	select {
	case <-s.loopDone:
		return nil
	case <-ctx.Done():
	}
	s.mu.Lock()
	for _, j := range s.waiting {
		j.cancelled.Store(true)
	}
	for _, sl := range s.slots {
		if sl.job != nil {
			sl.job.cancelled.Store(true)
		}
	}
	s.mu.Unlock()
	s.signal()
	<-s.loopDone
	return ctx.Err()
}

func (s *Scheduler) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// loop is the scheduler goroutine: admit, step, repeat.
func (s *Scheduler) loop() {
	defer close(s.loopDone)
	for {
		s.mu.Lock()
		s.reap()
		s.admit()
		active := int(s.running.Load())
		stop := s.closed && active == 0 && len(s.waiting) == 0
		s.mu.Unlock()
		if stop {
			return
		}
		if active == 0 {
			<-s.wake
			continue
		}
		s.step()
	}
}
