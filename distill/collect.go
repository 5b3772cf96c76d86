package distill

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"time"

	"github.com/qilin-ai/qilin/remote"
)

// Teacher answers chat requests: a *remote.Client for an endpoint, or a
// *Local for a model file run in this process.
type Teacher interface {
	Chat(ctx context.Context, req remote.ChatRequest) (*remote.ChatResponse, error)
}

// PromptCounter is implemented by teachers that count a prompt's tokens
// exactly (a local model); others are estimated from the text's bytes,
// which bound the tokens of byte-level tokenizers.
type PromptCounter interface {
	PromptTokens(msgs []remote.Message) (int, error)
}

// Config is a collection.
type Config struct {
	Teacher Teacher
	Info    TeacherInfo // how records name the teacher
	Prompts []Prompt
	Samples int // answers per prompt; 0 means 1
	// Params: temperature, top-p, max tokens, top logprobs and thinking;
	// Seed is the base from which each (prompt, sample) seed is derived.
	Params Params
	// System is a system prompt put before prompts that have none.
	System string
	// Concurrency is the number of requests in flight; 0 means 1.
	Concurrency int
	// Limiter paces the requests (nil: no limits).
	Limiter *remote.Limiter
	// BudgetTokens stops the collection before the tokens of the dataset
	// (prompt and completion, all runs) would pass it; 0 means no budget.
	// A request counts as its prompt plus Params.MaxTokens until it ends.
	BudgetTokens int64
	Filters      Filters
	// Stream asks the teacher for streamed answers (remote endpoints:
	// stalls are then detected early).
	Stream bool
	// OnProgress, when not nil, is called after each request ends.
	OnProgress func(Progress)
	// Logf, when not nil, receives notes: resuming, dropped lines,
	// failed requests.
	Logf func(format string, args ...any)
	// MaxFailures stops the collection after that many requests in a row
	// failed after their retries; 0 means 2 × Concurrency + 3.
	MaxFailures int
}

// Progress is a collection's state after a request.
type Progress struct {
	Done, Total int // records of the wanted (prompt, sample) pairs, and those pairs
	New         int // records added by this run
	Errors      int // failed attempts in this run, retried ones included
	// CompletionTokens were generated in this run, over Elapsed.
	CompletionTokens int64
	Elapsed          time.Duration
}

// Result is how a run ended.
type Result struct {
	Manifest *Manifest
	New      int // records added
	// PromptTokens and CompletionTokens are this run's.
	PromptTokens, CompletionTokens int64
	Elapsed                        time.Duration
	// Failed counts requests that failed after their retries; their
	// samples are missing and a rerun asks for them again.
	Failed int
	// BudgetReached: the token budget stopped the collection.
	BudgetReached bool
}

// item is one (prompt, sample) to ask for.
type item struct {
	prompt *Prompt
	sample int
}

// Collect asks the teacher for every (prompt, sample) that dir does not
// hold yet and appends the answers to dir's samples.jsonl (or
// rejected.jsonl, for answers a filter drops), fsynced as they arrive. At
// the end, and when interrupted, it rewrites both files in canonical order
// (prompts in their file's order, then samples; records of prompts no
// longer in the list after, by id) and writes the manifest. Killed at any
// moment and run again with the same configuration, it asks only for what
// is missing and ends with the same files as a run never interrupted,
// given a teacher that answers a request the same way each time.
func Collect(ctx context.Context, dir string, cfg Config) (*Result, error) {
	if cfg.Teacher == nil || len(cfg.Prompts) == 0 {
		return nil, errors.New("distill: nothing to collect: no teacher or no prompts")
	}
	cfg.Samples = max(cfg.Samples, 1)
	cfg.Concurrency = max(cfg.Concurrency, 1)
	if cfg.MaxFailures <= 0 {
		cfg.MaxFailures = 2*cfg.Concurrency + 3
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	d, err := openDataset(dir)
	if err != nil {
		return nil, err
	}
	defer d.close()
	if d.torn > 0 {
		cfg.Logf("dropped %d half-written last line(s) left by an interrupted run", d.torn)
	}
	prev, err := ReadManifest(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err := checkSame(prev, d, &cfg); err != nil {
		return nil, err
	}
	c := &collector{cfg: &cfg, d: d, errors: map[string]int{}, start: time.Now()}
	if prev != nil {
		for k, v := range prev.Errors {
			c.errors[k] += v
		}
	}
	for i := range cfg.Prompts {
		p := &cfg.Prompts[i]
		for s := range cfg.Samples {
			if d.has(key{p.ID, s}) {
				c.have++
			} else {
				c.todo = append(c.todo, item{p, s})
			}
		}
	}
	for _, e := range d.index {
		c.spent += int64(e.usage.PromptTokens + e.usage.CompletionTokens)
	}
	if c.have > 0 {
		cfg.Logf("resuming: %d of %d samples already collected, %d to ask for", c.have, c.have+len(c.todo), len(c.todo))
	}
	if err := writeManifest(dir, c.manifest(false, "")); err != nil {
		return nil, err
	}

	runErr := c.run(ctx)

	order := c.canonical()
	seen := map[[32]byte]bool{}
	answers := map[string]string{}
	for _, p := range cfg.Prompts {
		answers[p.ID] = p.Answer
	}
	sha, err := d.finish(order, func(r *Record) string {
		if v := cfg.Filters.check(r, answers[r.PromptID]); v != "" {
			return v
		}
		if cfg.Filters.Dedupe {
			k := dedupeKey(r)
			if seen[k] {
				return RejectDuplicate
			}
			seen[k] = true
		}
		return ""
	})
	if err != nil {
		return nil, err
	}
	m := c.manifest(len(c.todo) == c.added, sha)
	if err := writeManifest(dir, m); err != nil {
		return nil, err
	}
	res := &Result{Manifest: m, New: c.added, PromptTokens: c.promptTok, CompletionTokens: c.complTok,
		Elapsed: time.Since(c.start), Failed: c.failed, BudgetReached: c.budgetHit}
	if runErr != nil {
		return res, runErr
	}
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("distill: interrupted with %d of %d samples collected (run the same command again to continue): %w",
			m.Counts.Collected, m.Counts.Wanted, err)
	}
	return res, nil
}

// checkSame refuses to add to a dataset made with another teacher or other
// generation parameters (the number of samples, the prompts, the
// concurrency, the limits and the filters may change between runs).
func checkSame(prev *Manifest, d *dataset, cfg *Config) error {
	var info TeacherInfo
	var params Params
	var system string
	switch {
	case prev != nil:
		info, params, system = prev.Teacher, prev.Params, prev.System
	case d.first != nil:
		info, params = d.first.Teacher, d.first.Params
		params.Seed = cfg.Params.Seed // a record holds its own seed
		system = cfg.System
	default:
		return nil
	}
	differ := func(what string, was, now any) error {
		return fmt.Errorf("distill: %s holds samples collected with %s %v, not %v: use the same parameters to resume, or another --out", d.dir, what, was, now)
	}
	switch {
	case info != cfg.Info:
		return differ("teacher", info, cfg.Info)
	case !sameParams(params, cfg.Params):
		return differ("parameters", paramText(params), paramText(cfg.Params))
	case system != cfg.System:
		return differ("system prompt", fmt.Sprintf("%q", system), fmt.Sprintf("%q", cfg.System))
	}
	return nil
}

func sameParams(a, b Params) bool { return string(marshal(a)) == string(marshal(b)) }

func paramText(p Params) string { return string(marshal(p)) }

// seed derives the seed of one (prompt, sample) from the base seed: 31
// bits, never 0, so that every server takes it.
func seed(base int64, prompt string, sample int) int64 {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], uint64(base))
	binary.LittleEndian.PutUint64(b[8:], uint64(sample))
	h := sha256.Sum256(append(b[:], prompt...))
	s := int64(binary.LittleEndian.Uint32(h[:4]) & 0x7fffffff)
	if s == 0 {
		s = 1
	}
	return s
}

// canonical returns the places of every record in canonical order.
func (c *collector) canonical() []key {
	index := map[string]int{}
	for i, p := range c.cfg.Prompts {
		index[p.ID] = i
	}
	out := make([]key, 0, len(c.d.index))
	for k := range c.d.index {
		out = append(out, k)
	}
	pos := func(k key) int {
		if i, ok := index[k.prompt]; ok {
			return i
		}
		return len(index)
	}
	slices.SortFunc(out, func(a, b key) int {
		if d := pos(a) - pos(b); d != 0 {
			return d
		}
		if a.prompt != b.prompt {
			if a.prompt < b.prompt {
				return -1
			}
			return 1
		}
		return a.sample - b.sample
	})
	return out
}

// manifest describes the dataset as it stands.
func (c *collector) manifest(complete bool, sha string) *Manifest {
	cfg := c.cfg
	m := &Manifest{Format: ManifestFormat, Teacher: cfg.Info, Params: cfg.Params, System: cfg.System, Filters: cfg.Filters,
		Prompts: len(cfg.Prompts), Samples: cfg.Samples, Errors: c.errors, SamplesSHA256: sha, Complete: complete,
		Counts: Counts{Wanted: len(cfg.Prompts) * cfg.Samples, Rejected: map[string]int{}}}
	wanted := map[key]bool{}
	for _, p := range cfg.Prompts {
		for s := range cfg.Samples {
			wanted[key{p.ID, s}] = true
		}
	}
	c.d.mu.Lock()
	defer c.d.mu.Unlock()
	for k, e := range c.d.index {
		if wanted[k] {
			m.Counts.Collected++
		}
		if e.rejected == "" {
			m.Counts.Kept++
		} else {
			m.Counts.Rejected[e.rejected]++
		}
		m.Tokens.Prompt += int64(e.usage.PromptTokens)
		m.Tokens.Completion += int64(e.usage.CompletionTokens)
		m.Tokens.Reasoning += int64(e.usage.ReasoningTokens)
	}
	m.Counts.Missing = m.Counts.Wanted - m.Counts.Collected
	return m
}
