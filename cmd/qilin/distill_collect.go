package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/qilin-ai/qilin/distill"
	"github.com/qilin-ai/qilin/engine"
	"github.com/qilin-ai/qilin/internal/termui"
	"github.com/qilin-ai/qilin/remote"
)

// distillSummary is the distill group's line in the help.
const distillSummary = "distill a teacher into a student: collect answers, train"

func init() {
	registerIn("distill", distillSummary, &command{name: "collect",
		summary: "ask a teacher (local model or API) for answers to prompts, resumably", run: runDistillCollect})
}

// optBool is a boolean flag that may be left unset (--think, --think=false).
type optBool struct{ v *bool }

func (o *optBool) String() string {
	if o == nil || o.v == nil {
		return ""
	}
	return strconv.FormatBool(*o.v)
}

func (o *optBool) Set(s string) error {
	b, err := strconv.ParseBool(s)
	if err != nil {
		return err
	}
	o.v = &b
	return nil
}

func (o *optBool) IsBoolFlag() bool { return true }

func runDistillCollect(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("distill collect", "--teacher MODEL --prompts FILE --out DIR [flags]", stderr)
	teacherRef := fs.String("teacher", "", "the teacher: a GGUF `MODEL` file or store name, URL#MODEL, or PROVIDER:MODEL ("+providerList()+")")
	promptsPath := fs.String("prompts", "", "prompts `FILE`: JSONL with \"prompt\" or \"messages\" (optional \"id\", \"answer\"), or text, one per line")
	out := fs.String("out", "", "dataset `DIR` (samples.jsonl, rejected.jsonl, manifest.json); rerun to resume")
	samples := fs.Int("samples", 1, "answers per prompt")
	temperature := fs.Float64("temperature", 0.6, "sampling temperature (DeepSeek's advice for R1: 0.6)")
	topP := fs.Float64("top-p", 0.95, "nucleus sampling threshold")
	maxTokens := fs.Int("max-tokens", 4096, "generated tokens at most per answer, reasoning included")
	topLogprobs := fs.Int("top-logprobs", 0, "keep the log-probabilities of each token and its `K` likeliest alternatives")
	system := fs.String("system", "", "system prompt for prompts that have none")
	concurrency := fs.Int("concurrency", 4, "requests in flight (a local teacher's batch slots)")
	rpm := fs.Int("rpm", 0, "requests per minute at most, paced evenly (0: no limit)")
	tpm := fs.Int("tpm", 0, "tokens per minute at most, prompt and answer (0: no limit)")
	budget := fs.Int64("budget-tokens", 0, "stop before the dataset's tokens would pass `N` (0: no budget)")
	var think optBool
	fs.Var(&think, "think", "switch the teacher's reasoning on or off (unset: the model's default)")
	seed := fs.Int64("seed", 0, "base seed of the samples' seeds")
	keyEnv := fs.String("api-key-env", "", "read the API key from environment variable `VAR` (default: the provider's, e.g. DEEPSEEK_API_KEY)")
	var filters distill.Filters
	fs.BoolVar(&filters.DropTruncated, "drop-truncated", false, "drop answers cut at --max-tokens (finish_reason length)")
	fs.BoolVar(&filters.RequireReasoning, "require-reasoning", false, "drop answers without a closed reasoning block")
	fs.BoolVar(&filters.Dedupe, "dedupe", false, "drop exact duplicates of an earlier record")
	fs.BoolVar(&filters.CheckAnswers, "check-answers", false, "for prompts with an \"answer\", keep only answers that match it (rejection sampling)")
	threads := new(int) // a local teacher's
	threadsFlag(fs, threads)
	ctxLen := fs.Int("ctx", 0, "local teacher: context per slot in tokens (0: the model's, at most 4096)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) > 0:
		return usageError("unexpected arguments %q", pos)
	case *teacherRef == "" || *promptsPath == "" || *out == "":
		return usageError("--teacher, --prompts and --out are required")
	case *samples < 1 || *concurrency < 1:
		return usageError("--samples and --concurrency must be at least 1")
	case *maxTokens < 0 || *topLogprobs < 0 || *rpm < 0 || *tpm < 0 || *budget < 0:
		return usageError("--max-tokens, --top-logprobs, --rpm, --tpm and --budget-tokens cannot be negative")
	case *maxTokens == 0 && (*tpm > 0 || *budget > 0):
		return usageError("--tpm and --budget-tokens need a --max-tokens to bound each request")
	case *threads < 0:
		return checkThreads(*threads)
	}
	prompts, err := readPromptsFile(*promptsPath, stderr)
	if err != nil {
		return err
	}
	target, err := resolveTarget(*teacherRef)
	if err != nil {
		return err
	}
	cfg := distill.Config{Prompts: prompts, Samples: *samples, System: *system, Concurrency: *concurrency,
		BudgetTokens: *budget, Filters: filters,
		Params: distill.Params{Temperature: temperature, TopP: topP, MaxTokens: *maxTokens, TopLogprobs: *topLogprobs,
			Think: think.v, Seed: *seed},
		Logf: func(format string, a ...any) { fmt.Fprintf(stderr, "qilin distill collect: "+format+"\n", a...) }}
	if *rpm > 0 || *tpm > 0 {
		cfg.Limiter = remote.NewLimiter(*rpm, *tpm)
	}
	if ep := target.endpoint; ep != nil {
		if think.v != nil && ep.Think == remote.ThinkNone {
			fmt.Fprintf(stderr, "qilin distill collect: warning: %s has no switch for thinking; --think changes nothing\n", ep.Title)
		}
		c, err := remote.FromEnv(*ep, *keyEnv)
		if err != nil {
			if ep.KeyEnv != "" && *keyEnv == "" {
				return fmt.Errorf("%v (or name the variable that holds the key with --api-key-env VAR)", err)
			}
			return err
		}
		cfg.Teacher, cfg.Stream = c, true
		cfg.Info = distill.TeacherInfo{Model: ep.Model, Endpoint: ep.BaseURL}
	} else {
		if *keyEnv != "" {
			return usageError("--api-key-env is for endpoints; %s is a local model", *teacherRef)
		}
		e, err := target.file.load(engine.Options{Threads: *threads, Context: *ctxLen})
		if err != nil {
			return err
		}
		defer e.Close()
		checkTemplate(e, "distill collect", *teacherRef, think.v == nil || *think.v, stderr)
		l, err := distill.NewLocal(e, *concurrency)
		if err != nil {
			return err
		}
		defer l.Close()
		cfg.Teacher = l
		cfg.Info = distill.TeacherInfo{Model: teacherName(target), Endpoint: "local"}
	}

	total := len(prompts) * *samples
	bar := termui.NewTasks(stderr, "collect", total)
	cfg.OnProgress = func(p distill.Progress) { bar.Set(p.Done, p.CompletionTokens, p.Errors) }
	res, err := distill.Collect(ctx, *out, cfg)
	bar.Finish()
	if res != nil {
		printCollected(stdout, *out, res)
	}
	return err
}

// readPromptsFile reads the prompts, noting repeated ones.
func readPromptsFile(path string, stderr io.Writer) ([]distill.Prompt, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	prompts, dups, err := distill.ReadPrompts(f, path)
	if err != nil {
		return nil, err
	}
	if dups > 0 {
		fmt.Fprintf(stderr, "qilin distill collect: %d repeated prompts (without ids) are asked once\n", dups)
	}
	return prompts, nil
}

// printCollected summarizes a run and the dataset.
func printCollected(w io.Writer, dir string, res *distill.Result) {
	m := res.Manifest
	secs := res.Elapsed.Seconds()
	rate := 0.0
	if secs > 0 {
		rate = float64(res.CompletionTokens) / secs
	}
	fmt.Fprintf(w, "collected %d new samples in %v: %d tokens generated, %.1f tok/s\n",
		res.New, res.Elapsed.Round(time.Millisecond), res.CompletionTokens, rate)
	line := fmt.Sprintf("%s: %d of %d samples, %d kept", dir, m.Counts.Collected, m.Counts.Wanted, m.Counts.Kept)
	if len(m.Counts.Rejected) > 0 {
		var parts []string
		for _, k := range []string{distill.RejectTruncated, distill.RejectNoReasoning, distill.RejectDuplicate, distill.RejectWrongAnswer} {
			if n := m.Counts.Rejected[k]; n > 0 {
				parts = append(parts, fmt.Sprintf("%d %s", n, k))
			}
		}
		line += " (rejected: " + strings.Join(parts, ", ") + ")"
	}
	fmt.Fprintf(w, "%s; %d prompt and %d completion tokens in all\n", line, m.Tokens.Prompt, m.Tokens.Completion)
	switch {
	case res.BudgetReached:
		fmt.Fprintf(w, "stopped at the token budget with %d samples missing: rerun with a larger --budget-tokens to go on\n", m.Counts.Missing)
	case m.Counts.Missing > 0 && res.Failed > 0:
		fmt.Fprintf(w, "%d samples missing after %d failed requests: rerun the same command to ask for them again\n", m.Counts.Missing, res.Failed)
	}
}

// providerList names the provider presets for the help.
func providerList() string {
	names := make([]string, len(remote.Providers))
	for i, p := range remote.Providers {
		names[i] = p.Name
	}
	return strings.Join(names, ", ")
}
