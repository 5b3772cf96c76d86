package engine

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/qilin-ai/qilin/model"
	"github.com/qilin-ai/qilin/sample"
	"github.com/qilin-ai/qilin/tokenizer"
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

// Errors returned by Submit.
var (
	ErrQueueFull      = errors.New("engine: request queue is full")
	ErrPromptTooLong  = errors.New("engine: prompt does not fit the context")
	ErrClosed         = errors.New("engine: scheduler is closed")
	ErrEmptyPrompt    = errors.New("engine: empty prompt")
	errInvalidRequest = errors.New("engine: invalid request")
)

// StopString is the stop reason when a stop string ended generation;
// OpenAI reports it as "stop".
const StopString StopReason = "stop_string"

// Reasoning asks the scheduler to bound a request's reasoning block: once
// Budget tokens were generated inside it, the Close tokens are emitted as
// if the model had written them, and the answer follows.
type Reasoning struct {
	Budget     int   // reasoning tokens allowed (0: close at once); < 0 disables the bound
	StartsOpen bool  // the prompt already opened the block
	Open       []int // tokens that open the block (when not StartsOpen)
	Close      []int // tokens that close it; forced when the budget is spent
}

// Request is one generation submitted to a Scheduler.
type Request struct {
	Prompt    []int         // prompt tokens (BOS included where wanted); not modified
	MaxTokens int           // generated tokens at most; 0 means until the context is full
	Sample    sample.Params // sampling; Seed 0 means a random seed
	// Stop strings end generation when the output text contains one; the
	// text from the stop string on is not emitted.
	Stop []string
	// TopLogprobs > 0 reports, with each token, its log-probability and the
	// TopLogprobs most likely alternatives; Logprobs alone reports the
	// token's log-probability.
	Logprobs    bool
	TopLogprobs int
	// Reasoning, when not nil, bounds the reasoning block.
	Reasoning *Reasoning
	// Script, when not nil, replaces sampling (a test hook): its tokens
	// are produced in order, and generation ends after the last one as if
	// an end-of-generation token followed.
	Script []int
}

// Event is one step of a stream: a generated token, or (Token < 0) the
// text still held back when the stream ends.
type Event struct {
	Token int    // generated token id; -1 for a final text-only event
	Text  string // output text released with this token (may be "" or span several tokens)
	// Logprob and Top are set when the request asked for logprobs.
	Logprob float32
	Top     []sample.TokenLogprob
	// Forced says the token was not sampled (a reasoning budget's close
	// tokens, or a Script).
	Forced bool
}

// Result is how a stream ended.
type Result struct {
	Reason           StopReason
	StopString       string // the stop string that matched, for StopString
	PromptTokens     int
	CachedTokens     int // prompt tokens whose keys and values were reused
	CompletionTokens int
	Err              error
	Queued           time.Duration // time waiting for a slot
	FirstToken       time.Duration // from Submit to the first token
}

// Stream delivers a request's events in order. The scheduler never waits
// for the reader: events queue up in the stream until Recv takes them.
type Stream struct {
	mu     sync.Mutex
	q      []Event
	head   int
	done   bool
	res    Result
	ready  chan struct{} // signalled when q grows or the stream ends
	cancel context.CancelFunc
}

// Recv returns the next event, waiting for it; ok is false once the stream
// has ended and every event was read (see Result).
func (st *Stream) Recv() (ev Event, ok bool) {
	for {
		st.mu.Lock()
		if st.head < len(st.q) {
			ev = st.q[st.head]
			st.q[st.head] = Event{}
			st.head++
			if st.head == len(st.q) {
				st.q, st.head = st.q[:0], 0
			}
			st.mu.Unlock()
			return ev, true
		}
		done := st.done
		st.mu.Unlock()
		if done {
			return Event{}, false
		}
		<-st.ready
	}
}

// Result returns how the stream ended; it is complete once Recv has
// returned false.
func (st *Stream) Result() Result {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.res
}

// Cancel stops the request; its slot is freed before the next step.
func (st *Stream) Cancel() { st.cancel() }

func (st *Stream) push(ev Event) {
	st.mu.Lock()
	st.q = append(st.q, ev)
	st.mu.Unlock()
	st.signal()
}

func (st *Stream) finish(res Result) {
	st.mu.Lock()
	st.done = true
	st.res = res
	st.mu.Unlock()
	st.signal()
	st.cancel()
}

func (st *Stream) signal() {
	select {
	case st.ready <- struct{}{}:
	default:
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

// slot state
const (
	slotIdle = iota
	slotPrefill
	slotDecode
)

// slot is one sequence of the batch: its cache, the tokens in it, and the
// request it serves.
type slot struct {
	cache   *model.Cache
	tokens  []int // tokens whose keys and values are in cache (cap: slot context)
	state   int
	job     *job
	lastUse uint64

	prompt  []int // the job's prompt
	cached  int   // prompt tokens reused from a cache
	next    int   // decode: the sampled token to evaluate this step
	row     int   // row of this step's logits, -1 when none
	chunk   int   // prefill: prompt tokens in this step
	gen     []int // generated tokens (cap: slot context)
	sampler *sample.Sampler
	dec     *tokenizer.StreamDecoder
	held    strings.Builder // output text held back while it may start a stop string
	forced  []int           // tokens to emit instead of sampling
	script  []int           // remaining Script tokens
	reason  reasonState
	maxStop int // longest stop string in bytes
}

// reasonState tracks a request's reasoning block for its budget.
type reasonState struct {
	r      *Reasoning
	open   bool
	closed bool
	n      int // tokens generated inside the block
}

// idleChunk is the prefill bound of a step without decode tokens.
const idleChunk = 256

// Scheduler runs many requests on one engine with continuous batching: a
// single goroutine builds each forward step from the next token of every
// decoding slot plus a bounded chunk of pending prompt tokens, so the
// weights are read once for all sequences, requests join between steps and
// finished ones leave. Each slot keeps its cache after its request ends, and
// a new request takes the free slot whose cached tokens share the longest
// prefix with its prompt (or copies a busy slot's prefix) to skip that part
// of the prefill.
//
// The logits of a token do not depend on what else is in its batch, so
// greedy output is identical whether a request runs alone or with others.
type Scheduler struct {
	e      *Engine
	opts   SchedOptions
	runner *model.Runner
	slots  []*slot
	batch  model.Batch
	logits []float32 // (slots, n_vocab)
	top    []sample.TokenLogprob

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
	s := &Scheduler{
		e:        e,
		opts:     opts,
		runner:   e.Model.NewRunner(e.Pool, maxBatch, opts.SlotContext),
		logits:   make([]float32, opts.Slots*e.Model.NVocab),
		wake:     make(chan struct{}, 1),
		loopDone: make(chan struct{}),
		batch: model.Batch{
			Tokens: make([]int, 0, maxBatch), Pos: make([]int, 0, maxBatch),
			Caches: make([]*model.Cache, 0, maxBatch), Logits: make([]bool, 0, maxBatch),
		},
	}
	for range opts.Slots {
		s.slots = append(s.slots, &slot{
			cache:  e.Model.NewCache(opts.SlotContext),
			tokens: make([]int, 0, opts.SlotContext),
			gen:    make([]int, 0, opts.SlotContext),
			row:    -1,
		})
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

// Submit queues req and returns its stream. The request ends when it
// finishes, when ctx is cancelled, or on Stream.Cancel; a cancelled request
// leaves its slot before the next step. Submit fails at once with
// ErrPromptTooLong, ErrEmptyPrompt, ErrQueueFull or ErrClosed (wrapped).
func (s *Scheduler) Submit(ctx context.Context, req Request) (*Stream, error) {
	if err := s.validate(&req); err != nil {
		return nil, err
	}
	if req.Sample.Seed == 0 && req.Sample.Temperature > 0 {
		req.Sample.Seed = rand.Uint64() | 1
	}
	jctx, cancel := context.WithCancel(ctx)
	j := &job{req: req, ctx: jctx, submitted: time.Now(),
		st: &Stream{ready: make(chan struct{}, 1), cancel: cancel}}
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

func (s *Scheduler) validate(req *Request) error {
	switch {
	case len(req.Prompt) == 0:
		return ErrEmptyPrompt
	case len(req.Prompt) >= s.opts.SlotContext:
		return fmt.Errorf("%w: %d prompt tokens, context of %d", ErrPromptTooLong, len(req.Prompt), s.opts.SlotContext)
	case req.MaxTokens < 0:
		return fmt.Errorf("%w: max tokens %d", errInvalidRequest, req.MaxTokens)
	}
	nv := s.e.Model.NVocab
	for _, toks := range [][]int{req.Prompt, req.Script} {
		for _, t := range toks {
			if t < 0 || t >= nv {
				return fmt.Errorf("%w: token %d outside the vocabulary of %d", errInvalidRequest, t, nv)
			}
		}
	}
	if r := req.Reasoning; r != nil && r.Budget >= 0 && len(r.Close) == 0 {
		return fmt.Errorf("%w: a reasoning budget needs close tokens", errInvalidRequest)
	}
	return nil
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

// reap ends cancelled requests, waiting or running. Called with mu held.
func (s *Scheduler) reap() {
	kept := s.waiting[:0]
	for _, j := range s.waiting {
		if j.cancelled.Load() {
			s.end(j, Result{Reason: StopCancelled, PromptTokens: len(j.req.Prompt)})
			continue
		}
		kept = append(kept, j)
	}
	clear(s.waiting[len(kept):])
	s.waiting = kept
	s.nWait.Store(int64(len(s.waiting)))
	for _, sl := range s.slots {
		if sl.job != nil && sl.job.cancelled.Load() {
			s.release(sl, StopCancelled, "", nil)
		}
	}
}

// admit moves waiting requests into free slots, in arrival order. Called
// with mu held.
func (s *Scheduler) admit() {
	for len(s.waiting) > 0 {
		sl, src, n := s.pick(s.waiting[0].req.Prompt)
		if sl == nil {
			return
		}
		j := s.waiting[0]
		s.waiting[0] = nil
		s.waiting = s.waiting[1:]
		s.nWait.Store(int64(len(s.waiting)))
		if src != sl {
			sl.cache.CopyPrefix(src.cache, n)
			sl.tokens = append(sl.tokens[:0], src.tokens[:n]...)
		}
		s.start(sl, j, n)
	}
}

// pick chooses the free slot for prompt and the number n of its tokens
// whose keys and values can be reused from src (sl itself, or a busy slot
// whose prefix is longer). It returns nil when no slot is free.
func (s *Scheduler) pick(prompt []int) (sl, src *slot, n int) {
	limit := len(prompt) - 1 // the last prompt token is evaluated for its logits
	bestFree, bestAny := -1, -1
	for _, c := range s.slots {
		l := 0
		if !s.opts.NoPrefixCache {
			l = min(commonPrefix(c.tokens, prompt), limit)
		}
		if c.state == slotIdle && (sl == nil || l > bestFree || (l == bestFree && c.lastUse < sl.lastUse)) {
			sl, bestFree = c, l
		}
		if l > bestAny {
			src, bestAny = c, l
		}
	}
	if sl == nil {
		return nil, nil, 0
	}
	if bestAny > bestFree {
		return sl, src, bestAny
	}
	return sl, sl, bestFree
}

func commonPrefix(a, b []int) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

// start binds j to sl, whose first n cached tokens match j's prompt.
func (s *Scheduler) start(sl *slot, j *job, n int) {
	r := &j.req
	s.useClock++
	sl.lastUse = s.useClock
	sl.job = j
	sl.state = slotPrefill
	sl.tokens = sl.tokens[:n]
	sl.prompt = r.Prompt
	sl.cached = n
	sl.gen = sl.gen[:0]
	sl.row = -1
	sl.sampler = sample.New(r.Sample)
	sl.dec = s.e.Tok.NewStreamDecoder()
	sl.held.Reset()
	sl.forced = sl.forced[:0]
	sl.script = r.Script
	sl.reason = reasonState{r: r.Reasoning}
	if r.Reasoning != nil && r.Reasoning.StartsOpen {
		sl.reason.open = true
		sl.reason.check(sl)
	}
	sl.maxStop = 0
	for _, st := range r.Stop {
		sl.maxStop = max(sl.maxStop, len(st))
	}
	j.queued = time.Since(j.submitted)
	s.running.Add(1)
	s.stats.requests.Add(1)
	s.stats.prompt.Add(int64(len(r.Prompt)))
	s.stats.cached.Add(int64(n))
}

// release ends sl's request. The slot keeps its cache and tokens for
// prefix reuse.
func (s *Scheduler) release(sl *slot, why StopReason, stop string, err error) {
	j := sl.job
	if why != StopCancelled && why != "" {
		s.flushText(sl, stop != "")
	}
	s.end(j, Result{
		Reason: why, StopString: stop, PromptTokens: len(sl.prompt), CachedTokens: sl.cached,
		CompletionTokens: len(sl.gen), Err: err,
	})
	sl.job, sl.state, sl.prompt, sl.sampler, sl.dec, sl.script = nil, slotIdle, nil, nil, nil, nil
	sl.reason = reasonState{}
	s.running.Add(-1)
}

// end finishes j's stream with res.
func (s *Scheduler) end(j *job, res Result) {
	if j.stop != nil {
		j.stop()
	}
	res.Queued, res.FirstToken = j.queued, j.first
	j.st.finish(res)
}

// step runs one forward pass over every active slot and handles its
// outputs.
func (s *Scheduler) step() {
	b := &s.batch
	b.Tokens, b.Pos, b.Caches, b.Logits = b.Tokens[:0], b.Pos[:0], b.Caches[:0], b.Logits[:0]
	rows := 0
	// Decode tokens first: one per decoding slot.
	for _, sl := range s.slots {
		sl.row, sl.chunk = -1, 0
		if sl.state == slotDecode {
			s.push(sl.cache, sl.next, len(sl.tokens), true)
			sl.row = rows
			rows++
		}
	}
	// Then prompt chunks, in slot order, up to the step's budget: small
	// while streams wait for their next token, larger when none does.
	budget := s.opts.PrefillChunk
	if rows == 0 {
		budget = max(budget, idleChunk)
	}
	for _, sl := range s.slots {
		if sl.state != slotPrefill || budget == 0 {
			continue
		}
		done := len(sl.tokens)
		sl.chunk = min(budget, len(sl.prompt)-done)
		for i := 0; i < sl.chunk; i++ {
			last := done+i == len(sl.prompt)-1
			s.push(sl.cache, sl.prompt[done+i], done+i, last)
			if last {
				sl.row = rows
				rows++
			}
		}
		budget -= sl.chunk
	}
	if err := s.runner.Forward(b, s.logits); err != nil {
		// A broken invariant (validated requests cannot cause it): fail
		// every active request rather than loop on the error.
		s.mu.Lock()
		for _, sl := range s.slots {
			if sl.job != nil {
				s.release(sl, "", "", err)
			}
		}
		s.mu.Unlock()
		return
	}
	s.stats.steps.Add(1)
	for _, sl := range s.slots {
		switch sl.state {
		case slotDecode:
			sl.tokens = append(sl.tokens, sl.next)
		case slotPrefill:
			done := len(sl.tokens)
			sl.tokens = append(sl.tokens, sl.prompt[done:done+sl.chunk]...)
			if len(sl.tokens) == len(sl.prompt) {
				sl.state = slotDecode
			}
		}
	}
	nv := s.e.Model.NVocab
	var used int64
	for _, sl := range s.slots {
		if sl.row >= 0 && sl.state == slotDecode && sl.job != nil {
			s.produce(sl, s.logits[sl.row*nv:(sl.row+1)*nv])
		}
		if sl.job != nil {
			used += int64(len(sl.tokens))
		}
	}
	s.kvUsed.Store(used)
}

// push appends one token to the step's batch.
func (s *Scheduler) push(c *model.Cache, tok, pos int, logits bool) {
	b := &s.batch
	b.Tokens = append(b.Tokens, tok)
	b.Pos = append(b.Pos, pos)
	b.Caches = append(b.Caches, c)
	b.Logits = append(b.Logits, logits)
}

// produce picks sl's next token from logits, emits it and decides whether
// the request goes on.
func (s *Scheduler) produce(sl *slot, logits []float32) {
	j := sl.job
	r := &j.req
	var tok int
	forced := true
	switch {
	case len(sl.forced) > 0:
		tok = sl.forced[0]
		sl.forced = sl.forced[1:]
	case r.Script != nil:
		if len(sl.script) == 0 {
			s.finish(sl, StopEOG, "")
			return
		}
		tok = sl.script[0]
		sl.script = sl.script[1:]
	default:
		forced = false
		tok = sl.sampler.Sample(logits, sl.tokens)
	}
	if j.first == 0 {
		j.first = time.Since(j.submitted)
	}
	if !forced && s.e.Tok.IsEOG(tok) {
		s.finish(sl, StopEOG, "")
		return
	}
	sl.gen = append(sl.gen, tok)
	s.stats.generated.Add(1)
	ev := Event{Token: tok, Forced: forced}
	if r.Logprobs || r.TopLogprobs > 0 {
		ev.Logprob = sample.Logprob(logits, tok)
		if r.TopLogprobs > 0 {
			ev.Top = sample.TopLogprobs(logits, r.TopLogprobs, make([]sample.TokenLogprob, 0, r.TopLogprobs))
		}
	}
	stop := s.addText(sl, sl.dec.Push(tok), &ev)
	j.st.push(ev)
	s.trackReasoning(sl)
	switch {
	case stop != "":
		s.finish(sl, StopString, stop)
	case r.MaxTokens > 0 && len(sl.gen) >= r.MaxTokens:
		s.finish(sl, StopLength, "")
	case len(sl.tokens) >= s.opts.SlotContext:
		s.finish(sl, StopLength, "")
	default:
		sl.next = tok
	}
}

// finish ends sl's request from inside a step.
func (s *Scheduler) finish(sl *slot, why StopReason, stop string) {
	s.mu.Lock()
	s.release(sl, why, stop, nil)
	s.mu.Unlock()
}

// addText adds newly decoded text to sl's output, releasing into ev what
// cannot be part of a stop string, and returns the stop string found.
func (s *Scheduler) addText(sl *slot, text string, ev *Event) string {
	stops := sl.job.req.Stop
	if len(stops) == 0 {
		ev.Text = text
		return ""
	}
	sl.held.WriteString(text)
	h := sl.held.String()
	at, which := -1, ""
	for _, st := range stops {
		if st == "" {
			continue
		}
		if i := strings.Index(h, st); i >= 0 && (at < 0 || i < at) {
			at, which = i, st
		}
	}
	if at >= 0 {
		ev.Text = h[:at]
		sl.held.Reset()
		return which
	}
	keep := 0
	for _, st := range stops {
		for n := min(len(st)-1, len(h)); n > keep; n-- {
			if strings.HasSuffix(h, st[:n]) {
				keep = n
				break
			}
		}
	}
	ev.Text = h[:len(h)-keep]
	sl.held.Reset()
	sl.held.WriteString(h[len(h)-keep:])
	return ""
}

// flushText emits the text still held at the end of a request, unless a
// stop string matched (then the held text was cut at it).
func (s *Scheduler) flushText(sl *slot, stopped bool) {
	var rest string
	if !stopped {
		rest = sl.held.String() + sl.dec.Flush()
	}
	sl.held.Reset()
	if rest != "" {
		sl.job.st.push(Event{Token: -1, Text: rest})
	}
}

// trackReasoning follows the reasoning block through sl's output after
// each token and forces its close tokens once the budget is spent.
func (s *Scheduler) trackReasoning(sl *slot) {
	rs := &sl.reason
	if rs.r == nil || rs.r.Budget < 0 || rs.closed {
		return
	}
	switch {
	case !rs.open:
		rs.open = hasSuffix(sl.gen, rs.r.Open)
	case hasSuffix(sl.gen, rs.r.Close):
		rs.closed = true
		return
	default:
		rs.n++
	}
	rs.check(sl)
}

// check queues the close tokens when the open block has used its budget.
func (rs *reasonState) check(sl *slot) {
	if rs.r.Budget >= 0 && rs.open && !rs.closed && rs.n >= rs.r.Budget && len(sl.forced) == 0 {
		sl.forced = append(sl.forced, rs.r.Close...)
	}
}

func hasSuffix(s, suffix []int) bool {
	if len(suffix) == 0 || len(s) < len(suffix) {
		return false
	}
	return commonPrefix(s[len(s)-len(suffix):], suffix) == len(suffix)
}
