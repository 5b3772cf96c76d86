package engine

import (
	"strings"
	"time"

	"github.com/qilin-ai/qilin/model"
	"github.com/qilin-ai/qilin/sample"
	"github.com/qilin-ai/qilin/tokenizer"
)

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
	next    int   // decode: the chosen token to evaluate this step
	row     int   // row of this step's logits, -1 when none
	chunk   int   // prefill: prompt tokens in this step
	gen     []int // generated tokens (cap: slot context)
	sampler *sample.Sampler
	dec     *tokenizer.StreamDecoder
	held    strings.Builder // output text held back while it may start a stop string
	maxStop int             // longest stop string in bytes

	procs []Processor // the budget, then the request's processors
	// checkFirst: every processor is a Checker (and none a Drawer), so
	// the token is drawn first and the processors run only on a refusal.
	checkFirst bool
	forced     []int // tokens to emit instead of sampling
	reason     reasonTracker
	step       Step      // the processors' view, reused at every position
	raw        []float32 // (n_vocab) the logits before the processors, for logprobs
}

func newSlot(m *model.Model, ctx int) *slot {
	return &slot{
		cache:  m.NewCache(ctx),
		tokens: make([]int, 0, ctx),
		gen:    make([]int, 0, ctx),
		row:    -1,
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
			n = sl.cache.CopyPrefix(src.cache, n)
			sl.tokens = append(sl.tokens[:0], src.tokens[:n]...)
		} else {
			n = sl.cache.Seek(n)
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
			l = c.cache.Reusable(min(commonPrefix(c.tokens, prompt), limit))
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

// start binds j to sl, whose first n cached tokens match j's prompt.
func (s *Scheduler) start(sl *slot, j *job, n int) {
	r := &j.req
	s.useClock++
	sl.lastUse = s.useClock
	sl.job = j
	sl.state = slotPrefill
	sl.tokens = sl.tokens[:n]
	// A recurrent model's cache keeps its state after all but the last
	// prompt token: what the same prompt again, or the next turn of a
	// chat, resumes from.
	sl.cache.MarkSnapshot(len(r.Prompt) - 1)
	sl.prompt = r.Prompt
	sl.cached = n
	sl.gen = sl.gen[:0]
	sl.row = -1
	sl.sampler = sample.New(r.Sample)
	sl.dec = s.e.Tok.NewStreamDecoderWith(tokenizer.DecodeOptions{SkipSpecial: true})
	sl.held.Reset()
	sl.maxStop = 0
	for _, st := range r.Stop {
		sl.maxStop = max(sl.maxStop, len(st))
	}
	sl.forced = sl.forced[:0]
	sl.reason.reset(r.Reasoning)
	sl.procs = sl.procs[:0]
	if r.Reasoning != nil && r.Reasoning.Budget >= 0 {
		sl.procs = append(sl.procs, budget{r.Reasoning})
	}
	sl.procs = append(sl.procs, r.Processors...)
	sl.checkFirst = len(sl.procs) > 0
	for _, p := range sl.procs {
		_, c := p.(Checker)
		_, d := p.(Drawer)
		sl.checkFirst = sl.checkFirst && c && !d
	}
	sl.step = Step{Prompt: r.Prompt, Sample: r.Sample, Reasoning: r.Reasoning, eog: s.eog, forced: &sl.forced}
	for _, p := range r.Processors {
		if d, ok := p.(Drawer); ok {
			sl.sampler.SetDrawer(drawAdapter{st: &sl.step, d: d})
		}
	}
	if len(sl.procs) > 0 && (r.Logprobs || r.TopLogprobs > 0) && sl.raw == nil {
		sl.raw = make([]float32, s.e.Model.NVocab)
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
		CompletionTokens: len(sl.gen), ReasoningTokens: sl.reason.total, Err: err,
	})
	sl.job, sl.state, sl.prompt, sl.sampler, sl.dec = nil, slotIdle, nil, nil, nil
	clear(sl.procs)
	sl.procs = sl.procs[:0]
	sl.step = Step{}
	sl.reason = reasonTracker{}
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
