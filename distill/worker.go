package distill

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/qilin-ai/qilin/remote"
)

// collector is one run of Collect.
type collector struct {
	cfg   *Config
	d     *dataset
	start time.Time

	mu        sync.Mutex
	cond      *sync.Cond
	todo      []item
	bounds    map[string]int64 // prompt id -> bound of a request (see measure)
	next      int              // next item of todo to hand out
	have      int              // wanted records already in the dataset
	added     int              // records added by this run
	spent     int64            // tokens of the dataset's records
	inflight  int64            // bounds of the requests running
	running   int
	budgetHit bool
	failed    int // requests failed after their retries
	inARow    int // ... consecutively
	errors    map[string]int
	nErrors   int // attempts failed in this run
	promptTok int64
	complTok  int64
	stop      error // a failure that ends the run
}

// run asks for every item with cfg.Concurrency workers.
func (c *collector) run(ctx context.Context) error {
	c.cond = sync.NewCond(&c.mu)
	c.measure()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stopWake := context.AfterFunc(ctx, func() {
		c.mu.Lock()
		c.cond.Broadcast()
		c.mu.Unlock()
	})
	defer stopWake()
	var wg sync.WaitGroup
	for range min(c.cfg.Concurrency, len(c.todo)) {
		wg.Go(func() {
			for {
				it, bound, ok := c.take(ctx)
				if !ok {
					return
				}
				if err := c.ask(ctx, it, bound); err != nil {
					cancel()
					return
				}
			}
		})
	}
	wg.Wait()
	if err := c.d.app.Err(); err != nil {
		return fmt.Errorf("distill: writing %s: %w", c.d.dir, err)
	}
	return c.stop
}

// take hands out the next item, waiting while the requests in flight
// leave too little of the budget for it.
func (c *collector) take(ctx context.Context) (item, int64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		if ctx.Err() != nil || c.stop != nil || c.next >= len(c.todo) {
			return item{}, 0, false
		}
		it := c.todo[c.next]
		bound := c.bound(it)
		if b := c.cfg.BudgetTokens; b > 0 && c.spent+c.inflight+bound > b {
			if c.running == 0 {
				c.budgetHit = true
				c.cfg.Logf("token budget reached: %d of %d tokens spent, the next request could take %d", c.spent, b, bound)
				return item{}, 0, false
			}
			c.cond.Wait()
			continue
		}
		c.next++
		c.inflight += bound
		c.running++
		return it, bound, true
	}
}

// bound is an upper bound of the tokens a request for it may use, when a
// budget or a limiter needs one (0 otherwise).
func (c *collector) bound(it item) int64 { return c.bounds[it.prompt.ID] }

// measure computes the bounds of the prompts' requests, when a budget or a
// limiter needs them: for a local teacher the prompt is rendered and
// tokenized, which is better done once than under the lock of take.
func (c *collector) measure() {
	if c.cfg.BudgetTokens == 0 && c.cfg.Limiter == nil {
		return
	}
	c.bounds = map[string]int64{}
	for _, it := range c.todo {
		if _, ok := c.bounds[it.prompt.ID]; !ok {
			c.bounds[it.prompt.ID] = c.promptBound(it.prompt)
		}
	}
}

// promptBound bounds the tokens of a request for p: its prompt tokens plus
// max_tokens.
func (c *collector) promptBound(p *Prompt) int64 {
	msgs := c.messages(p)
	n := 0
	if pc, ok := c.cfg.Teacher.(PromptCounter); ok {
		if t, err := pc.PromptTokens(msgs); err == nil {
			n = t
		}
	}
	if n == 0 {
		for _, m := range msgs {
			n += len(m.Content) + 8
		}
		n += 16
	}
	return int64(n + c.cfg.Params.MaxTokens)
}

// messages is the conversation sent for p: the system prompt first when p
// has none.
func (c *collector) messages(p *Prompt) []remote.Message {
	if c.cfg.System == "" || (len(p.Messages) > 0 && p.Messages[0].Role == "system") {
		return p.Messages
	}
	return append([]remote.Message{{Role: "system", Content: c.cfg.System}}, p.Messages...)
}

// ask sends one request and records its answer; it returns an error only
// when the whole run must stop.
func (c *collector) ask(ctx context.Context, it item, bound int64) error {
	cfg := c.cfg
	msgs := c.messages(it.prompt)
	params := cfg.Params
	params.Seed = seed(cfg.Params.Seed, it.prompt.ID, it.sample)
	req := remote.ChatRequest{Messages: msgs, MaxTokens: params.MaxTokens, Temperature: params.Temperature, TopP: params.TopP,
		Seed: &params.Seed, TopLogprobs: params.TopLogprobs, Think: params.Think, ThinkBudget: params.ThinkBudget, Stream: cfg.Stream,
		OnRetry: func(r remote.Retry) { c.countError(r.Err) }}
	var resp *remote.ChatResponse
	r, err := cfg.Limiter.Wait(ctx, int(bound))
	if err == nil {
		resp, err = cfg.Teacher.Chat(ctx, req)
		used := 0
		if resp != nil {
			used = resp.Usage.PromptTokens + resp.Usage.CompletionTokens
			if used == 0 {
				used = int(bound) // not reported: count the bound
			}
		}
		r.Settle(used)
	}
	var rec *Record
	if err == nil {
		reasoning := validUTF8(resp.Reasoning)
		all := make([]Message, 0, len(msgs)+1)
		for _, m := range msgs {
			all = append(all, Message{Role: m.Role, Content: m.Content})
		}
		all = append(all, Message{Role: "assistant", Content: validUTF8(resp.Content), ReasoningContent: &reasoning})
		// Cached prompt tokens depend on what the server had seen before,
		// not on the answer: they are left out so that records are exact.
		usage := resp.Usage
		usage.CachedTokens = 0
		rec = &Record{PromptID: it.prompt.ID, Sample: it.sample, Messages: all, FinishReason: resp.FinishReason,
			Usage: usage, Teacher: cfg.Info, Params: params}
		if params.TopLogprobs > 0 {
			rec.Logprobs = logprobs(resp.Logprobs)
		}
		rec.Rejected = cfg.Filters.check(rec, it.prompt.Answer)
		c.d.add(rec)
	}
	return c.done(ctx, it, bound, rec, err)
}

func (c *collector) countError(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.errors[remote.ErrorKind(err)]++
	c.nErrors++
}

// done accounts for a finished request.
func (c *collector) done(ctx context.Context, it item, bound int64, rec *Record, err error) error {
	c.mu.Lock()
	c.running--
	c.inflight -= bound
	c.cond.Broadcast()
	var stop error
	switch {
	case err == nil:
		c.added++
		c.inARow = 0
		u := rec.Usage
		c.spent += int64(u.PromptTokens + u.CompletionTokens)
		c.promptTok += int64(u.PromptTokens)
		c.complTok += int64(u.CompletionTokens)
	case ctx.Err() != nil:
		// Interrupted: the sample stays missing, nothing failed.
	default:
		kind := remote.ErrorKind(err)
		c.errors[kind]++
		c.nErrors++
		c.failed++
		c.inARow++
		switch {
		case kind == remote.KindAuth || kind == remote.KindNotFound:
			stop = err
		case c.inARow >= c.cfg.MaxFailures:
			stop = fmt.Errorf("distill: %d requests in a row failed, the last with: %w", c.inARow, err)
		default:
			c.cfg.Logf("prompt %s sample %d failed (it stays missing; rerun to ask again): %v", it.prompt.ID, it.sample, err)
		}
		if stop != nil && c.stop == nil {
			c.stop = stop
		}
	}
	p := Progress{Done: c.have + c.added, Total: c.have + len(c.todo), New: c.added, Errors: c.nErrors,
		CompletionTokens: c.complTok, Elapsed: time.Since(c.start)}
	c.mu.Unlock()
	if c.cfg.OnProgress != nil {
		c.cfg.OnProgress(p)
	}
	if stop != nil {
		return stop
	}
	return nil
}
