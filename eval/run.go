package eval

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/qilin-ai/qilin/remote"
)

// ChatModel answers chat requests: a *remote.Client for an endpoint, or a
// *Local.
type ChatModel interface {
	Chat(ctx context.Context, req remote.ChatRequest) (*remote.ChatResponse, error)
}

// Model is one model under evaluation.
type Model struct {
	// Name is its key in results.json, as given to --model.
	Name string
	Info ModelInfo
	Chat ChatModel
	// Local, for a model run in this process, also scores
	// log-likelihoods and perplexity; nil for an endpoint.
	Local *Local
	// Stream asks for streamed answers (endpoints: stalls show early).
	Stream bool
}

// Options configure an eval run.
type Options struct {
	Tasks  []*Task
	Models []*Model
	// Samples is the number of answers per item; 0 means 1.
	Samples int
	// PassAt lists the k of pass@k beyond 1 (each at most Samples).
	PassAt []int
	// ThinkBudgets lists reasoning budgets in tokens, each a pass over the
	// items; empty means one pass, unbounded.
	ThinkBudgets []int
	Temperature  float64
	TopP         float64
	// MaxTokens bounds each answer, reasoning included; 0: the server's
	// default (local: the context).
	MaxTokens int
	// Limit takes the first Limit items of each task (perplexity: chunks);
	// 0: all.
	Limit int
	// Seed is the base of each sample's seed.
	Seed int64
	// Concurrency is the number of requests in flight per model (a local
	// model's batch slots); 0 means 1.
	Concurrency int
	// PerplexityChunk is the chunk size of perplexity in tokens; 0: 512.
	PerplexityChunk int
	// OnProgress, when set, is called after each sample.
	OnProgress func(Progress)
	// Logf, when set, receives notes: resuming, skipped pairs, failures.
	Logf func(format string, args ...any)
}

// Progress is a run's state after a sample.
type Progress struct {
	Done, Total int // samples in the directory of those wanted, and those wanted
	Tokens      int64
	Errors      int
}

// job is one sample to produce.
type job struct {
	task   *Task
	item   *Item // nil for a perplexity chunk
	chunk  int
	sample int
	budget *int
	mode   string
}

func (j *job) key(m *Model) key {
	id := ""
	if j.item != nil {
		id = j.item.ID
	} else {
		id = chunkID(j.chunk)
	}
	return key{j.task.Name, m.Name, id, j.sample, budgetKey(j.budget), j.mode}
}

func chunkID(i int) string { return fmt.Sprintf("chunk-%d", i) }

// runner is one run of Run.
type runner struct {
	cfg *Options
	d   *evalDir

	mu     sync.Mutex
	done   int
	total  int
	tokens int64
	errors int
}

// Run produces every sample the configuration asks for that dir does not
// hold yet, appending each to dir/samples.jsonl as it is scored, then
// rewrites samples.jsonl in order and writes dir/results.json. Killed at
// any moment and run again, it asks only for what is missing. A request
// that fails (after the endpoint's retries) is left missing, counted in
// the score's Errors, and asked again by the next run.
func Run(ctx context.Context, dir string, cfg Options) (*Results, error) {
	if len(cfg.Tasks) == 0 || len(cfg.Models) == 0 {
		return nil, errors.New("eval: no tasks or no models")
	}
	cfg.Samples = max(cfg.Samples, 1)
	cfg.Concurrency = max(cfg.Concurrency, 1)
	if cfg.PerplexityChunk <= 0 {
		cfg.PerplexityChunk = 512
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	for _, k := range cfg.PassAt {
		if k < 1 || k > cfg.Samples {
			return nil, fmt.Errorf("eval: pass@%d needs 1 <= k <= --samples (%d)", k, cfg.Samples)
		}
	}
	d, err := openDir(dir)
	if err != nil {
		return nil, err
	}
	if d.torn {
		cfg.Logf("dropped a half-written last line left by an interrupted run")
	}
	r := &runner{cfg: &cfg, d: d}
	plan, err := r.plan()
	if err != nil {
		d.close()
		return nil, err
	}
	if have := r.done; have > 0 {
		cfg.Logf("resuming: %d of %d samples already in %s", have, r.total, dir)
	}
	var runErr error
	for i, m := range cfg.Models {
		if runErr = r.runModel(ctx, m, plan[i]); runErr != nil {
			break
		}
	}
	res, order := summarize(&cfg, d.samples)
	if err := d.finish(order); err != nil && runErr == nil {
		runErr = fmt.Errorf("eval: writing %s: %w", dir, err)
	}
	if err := writeResults(dir, res); err != nil && runErr == nil {
		runErr = err
	}
	return res, runErr
}

// plan lists, per model, the jobs missing from the directory.
func (r *runner) plan() ([][]job, error) {
	cfg := r.cfg
	budgets := []*int{nil}
	if len(cfg.ThinkBudgets) > 0 {
		budgets = budgets[:0]
		for _, b := range cfg.ThinkBudgets {
			budgets = append(budgets, &b)
		}
	}
	out := make([][]job, len(cfg.Models))
	for i, m := range cfg.Models {
		for _, t := range cfg.Tasks {
			var jobs []job
			switch t.Kind {
			case Perplexity:
				if m.Local == nil {
					cfg.Logf("%s: skipping %s: perplexity needs a local model", m.Name, t.Name)
					continue
				}
				chunks, err := m.Local.Chunks(t.Text, cfg.PerplexityChunk)
				if err != nil {
					return nil, fmt.Errorf("eval: %s on %s: %w", t.Name, m.Name, err)
				}
				for c := range limit(len(chunks), cfg.Limit) {
					jobs = append(jobs, job{task: t, chunk: c, mode: "perplexity"})
				}
			default:
				items := t.Items[:limit(len(t.Items), cfg.Limit)]
				for k := range items {
					it := &items[k]
					for _, b := range budgets {
						for s := range cfg.Samples {
							jobs = append(jobs, job{task: t, item: it, sample: s, budget: b, mode: "generate"})
						}
					}
					if m.Local != nil && len(it.LogLikChoices) > 0 {
						jobs = append(jobs, job{task: t, item: it, mode: "loglik"})
					}
				}
			}
			for _, j := range jobs {
				r.total++
				if r.d.has(j.key(m)) {
					r.done++
					continue
				}
				out[i] = append(out[i], j)
			}
		}
	}
	return out, nil
}

func limit(n, lim int) int {
	if lim > 0 {
		return min(n, lim)
	}
	return n
}

// runModel produces a model's jobs: the generated answers with
// Concurrency requests in flight, then the log-likelihoods and perplexity
// chunks one by one.
func (r *runner) runModel(ctx context.Context, m *Model, jobs []job) error {
	var gen, score []job
	for _, j := range jobs {
		if j.mode == "generate" {
			gen = append(gen, j)
		} else {
			score = append(score, j)
		}
	}
	next := make(chan job)
	var wg sync.WaitGroup
	for range min(r.cfg.Concurrency, len(gen)) {
		wg.Go(func() {
			for j := range next {
				r.generate(ctx, m, j)
			}
		})
	}
feed:
	for _, j := range gen {
		select {
		case next <- j:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, j := range score {
		if err := r.score(ctx, m, j); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("eval: %s on %s: %w", j.task.Name, m.Name, err)
		}
	}
	return nil
}

// seed derives a sample's seed from the base seed, the task, the item and
// the sample's index (the same at every thinking budget).
func seed(base int64, task, id string, sample int) int64 {
	h := sha256.New()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(base))
	h.Write(b[:])
	fmt.Fprintf(h, "%s\x00%s\x00%d", task, id, sample)
	return int64(binary.LittleEndian.Uint64(h.Sum(nil)) >> 1)
}

// generate asks m for one answer and records it scored.
func (r *runner) generate(ctx context.Context, m *Model, j job) {
	cfg, it := r.cfg, j.item
	msgs := make([]remote.Message, 0, len(it.Conversation()))
	for _, c := range it.Conversation() {
		msgs = append(msgs, remote.Message{Role: c.Role, Content: c.Content})
	}
	sd := seed(cfg.Seed, j.task.Name, it.ID, j.sample)
	temp, topP := cfg.Temperature, cfg.TopP
	req := remote.ChatRequest{Messages: msgs, MaxTokens: cfg.MaxTokens, Temperature: &temp, TopP: &topP, Seed: &sd,
		ThinkBudget: j.budget, Stream: m.Stream}
	start := time.Now()
	resp, err := m.Chat.Chat(ctx, req)
	secs := time.Since(start).Seconds()
	if err != nil {
		if ctx.Err() == nil {
			cfg.Logf("%s on %s item %s sample %d failed (it stays missing; rerun to ask again): %v", m.Name, j.task.Name, it.ID, j.sample, err)
			r.progress(0, true)
		}
		return
	}
	g := Generation{Content: resp.Content, ReasoningContent: resp.Reasoning, FinishReason: resp.FinishReason,
		Unclosed: resp.Reasoning != "" && !resp.ReasoningClosed}
	v := it.Scorer.Score(g, it.Answer, it.Choices)
	s := &Sample{Task: j.task.Name, Model: m.Name, ID: it.ID, Sample: j.sample, ThinkBudget: j.budget, Seed: sd, Mode: j.mode,
		Prompt: it.PromptText(), Raw: resp.Content, Reasoning: v.Reasoning, Extracted: v.Extracted, Answer: it.Answer,
		Correct: v.Correct, Verdict: v.Why, Seconds: secs, FinishReason: resp.FinishReason, Choices: it.Choices,
		Tokens: Tokens{Prompt: resp.Usage.PromptTokens, Completion: resp.Usage.CompletionTokens, Reasoning: resp.Usage.ReasoningTokens}}
	r.d.add(s)
	r.progress(int64(s.Tokens.Completion), false)
}

// score records a log-likelihood item or a perplexity chunk.
func (r *runner) score(ctx context.Context, m *Model, j job) error {
	start := time.Now()
	var s *Sample
	if j.mode == "perplexity" {
		chunks, err := m.Local.Chunks(j.task.Text, r.cfg.PerplexityChunk)
		if err != nil {
			return err
		}
		pc, err := m.Local.Perplexity(ctx, chunks[j.chunk])
		if err != nil {
			return err
		}
		s = &Sample{Task: j.task.Name, Model: m.Name, ID: chunkID(j.chunk), Mode: j.mode, NLL: pc.NLL,
			Tokens: Tokens{Prompt: pc.Tokens}, Verdict: "scored"}
	} else {
		it := j.item
		ll, err := m.Local.LogLik(ctx, it.LogLikContext, it.LogLikChoices)
		if err != nil {
			return err
		}
		acc, norm := argmaxLogLik(ll, it.LogLikChoices)
		s = &Sample{Task: j.task.Name, Model: m.Name, ID: it.ID, Mode: j.mode, Prompt: it.LogLikContext,
			Extracted: Letter(acc), Answer: it.Answer, Correct: Letter(acc) == it.Answer, CorrectNorm: Letter(norm) == it.Answer,
			LogLik: ll, Choices: it.LogLikChoices}
		s.Verdict = "wrong"
		if s.Correct {
			s.Verdict = "correct"
		}
	}
	s.Seconds = time.Since(start).Seconds()
	r.d.add(s)
	r.progress(0, false)
	return nil
}

// argmaxLogLik returns lm-evaluation-harness's picks: the choice of
// highest log-likelihood (acc), and of highest log-likelihood per byte of
// the continuation (acc_norm); the first on ties.
func argmaxLogLik(ll []float64, conts []string) (acc, norm int) {
	for i := range ll {
		if ll[i] > ll[acc] {
			acc = i
		}
		if ll[i]/float64(max(len(conts[i]), 1)) > ll[norm]/float64(max(len(conts[norm]), 1)) {
			norm = i
		}
	}
	return acc, norm
}

func (r *runner) progress(tokens int64, failed bool) {
	r.mu.Lock()
	if failed {
		r.errors++
	} else {
		r.done++
	}
	r.tokens += tokens
	p := Progress{Done: r.done, Total: r.total, Tokens: r.tokens, Errors: r.errors}
	r.mu.Unlock()
	if r.cfg.OnProgress != nil {
		r.cfg.OnProgress(p)
	}
}
