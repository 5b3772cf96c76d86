package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/qilin-ai/qilin/engine"
	"github.com/qilin-ai/qilin/eval"
	"github.com/qilin-ai/qilin/eval/report"
	"github.com/qilin-ai/qilin/internal/hub"
	"github.com/qilin-ai/qilin/internal/termui"
	"github.com/qilin-ai/qilin/remote"
	"github.com/qilin-ai/qilin/store"
)

func init() {
	register(&command{name: "eval", summary: "run benchmarks (gsm8k, math500, mmlu, perplexity, your JSONL) on local and remote models, with a report",
		run: runEval})
}

var evalUsage = "--task TASK[,TASK...] --model MODEL [--model MODEL ...] --out DIR [--limit N]\n" +
	"    [--samples K] [--think-budget N,...] [--concurrency C] [--seed S] [flags]\n" +
	"  or: qilin eval " + evalCompareUsage + "\n\n" +
	"Tasks: gsm8k, math500, mmlu, perplexity (wikitext-2 test; or perplexity:FILE for a text file),\n" +
	"or PATH.jsonl, one item a line: {\"id\", \"prompt\"|\"messages\", \"answer\", \"choices\"?, \"scorer\"?}\n" +
	"with scorer numeric (the default), math, choice or exact. Built-in tasks' data comes from the\n" +
	"Hugging Face Hub once (HF_ENDPOINT, QILIN_OFFLINE) and is kept in the model store.\n" +
	"Models: GGUF files, store names, URL#MODEL or PROVIDER:MODEL (" + providerList() + ").\n" +
	"Rerun the same command to resume an interrupted run."

// commaFlag is a repeatable flag whose values may also be comma-separated.
type commaFlag []string

func (l *commaFlag) String() string { return strings.Join(*l, ",") }

func (l *commaFlag) Set(s string) error {
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			*l = append(*l, v)
		}
	}
	return nil
}

// intList reads "N,M,..." (each at least lo).
func intList(name string, vals []string, lo int) ([]int, error) {
	var out []int
	for _, v := range vals {
		n, err := strconv.Atoi(v)
		if err != nil || n < lo {
			return nil, usageError("--%s: %q is not a whole number >= %d", name, v, lo)
		}
		out = append(out, n)
	}
	return out, nil
}

func runEval(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("eval", evalUsage, stderr)
	var tasks, budgets, passAt commaFlag
	var models listFlag // taken whole: a URL#MODEL may hold commas
	fs.Var(&tasks, "task", "`TASK`s to run, comma-separated or repeated")
	fs.Var(&models, "model", "a `MODEL` to evaluate: GGUF file, store name, URL#MODEL or PROVIDER:MODEL ("+providerList()+"); repeat for several")
	out := fs.String("out", "", "results `DIR` (results.json, samples.jsonl, report.html); rerun to resume")
	limit := fs.Int("limit", 0, "the first `N` items of each task (perplexity: chunks); 0: all")
	samples := fs.Int("samples", 1, "answers per item: pass@1 is their mean, cons@K their majority vote")
	fs.Var(&passAt, "pass-at", "also report pass@`k` (comma-separated, each at most --samples), by the unbiased estimator")
	fs.Var(&budgets, "think-budget", "reasoning budgets in tokens, `N,...`: each a pass over the items (accuracy vs budget); unset: unbounded")
	concurrency := fs.Int("concurrency", 4, "requests in flight per model (a local model's batch slots)")
	seed := fs.Int64("seed", 0, "base seed of the samples' seeds")
	temperature := fs.Float64("temperature", 0.6, "sampling temperature (DeepSeek-R1's evaluation: 0.6)")
	topP := fs.Float64("top-p", 0.95, "nucleus sampling threshold")
	maxTokens := fs.Int("max-tokens", 4096, "generated tokens at most per answer, reasoning included")
	pplCtx := fs.Int("perplexity-ctx", 512, "perplexity: tokens per chunk (the second half of each is scored, as llama.cpp's perplexity does)")
	keyEnv := fs.String("api-key-env", "", "read endpoints' API key from environment variable `VAR` (default: each provider's)")
	threads := new(int) // local models'
	threadsFlag(fs, threads)
	ctxLen := fs.Int("ctx", 0, "local models: context per slot in tokens (0: the model's, at most 4096)")
	compare := fs.Bool("compare", false, "compare two earlier runs: qilin eval "+evalCompareUsage)
	quiet := fs.Bool("quiet", false, "no progress display")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if *compare {
		return runEvalCompare(pos, *out, stdout)
	}
	switch {
	case len(pos) > 0:
		return usageError("unexpected arguments %q", pos)
	case len(tasks) == 0 || len(models) == 0 || *out == "":
		return usageError("--task, --model and --out are required")
	case *samples < 1 || *concurrency < 1:
		return usageError("--samples and --concurrency must be at least 1")
	case *limit < 0 || *maxTokens < 0 || *pplCtx < 4:
		return usageError("--limit and --max-tokens cannot be negative, --perplexity-ctx must be at least 4")
	case *temperature < 0 || *topP <= 0 || *topP > 1:
		return usageError("--temperature must be >= 0 and --top-p in (0, 1]")
	case *threads < 0:
		return checkThreads(*threads)
	}
	if dup := firstDup(models); dup != "" {
		return usageError("--model %s is given twice", dup)
	}
	bs, err := intList("think-budget", budgets, 0)
	if err != nil {
		return err
	}
	ks, err := intList("pass-at", passAt, 1)
	if err != nil {
		return err
	}
	for _, k := range ks {
		if k > *samples {
			return usageError("--pass-at %d needs --samples %d or more", k, k)
		}
	}
	logf := func(format string, a ...any) { fmt.Fprintf(stderr, "qilin eval: "+format+"\n", a...) }
	ts, err := loadTasks(ctx, tasks, *quiet, stderr, logf)
	if err != nil {
		return err
	}
	opts := eval.Options{Tasks: ts, Samples: *samples, PassAt: ks, ThinkBudgets: bs, Temperature: *temperature, TopP: *topP,
		MaxTokens: *maxTokens, Limit: *limit, Seed: *seed, Concurrency: *concurrency, PerplexityChunk: *pplCtx, Logf: logf}
	for _, ref := range models {
		m, closeModel, err := openEvalModel(ref, *keyEnv, len(bs) > 0, engine.Options{Threads: *threads, Context: *ctxLen}, *concurrency, stderr)
		if err != nil {
			return err
		}
		defer closeModel()
		opts.Models = append(opts.Models, m)
	}
	if !*quiet {
		var mu sync.Mutex
		var bar *termui.Tasks
		opts.OnProgress = func(p eval.Progress) {
			mu.Lock()
			defer mu.Unlock()
			if bar == nil {
				bar = termui.NewTasks(stderr, "eval", p.Total)
			}
			bar.Set(p.Done, p.Tokens, p.Errors)
		}
		defer func() {
			if bar != nil {
				bar.Finish()
			}
		}()
	}
	start := time.Now()
	res, err := eval.Run(ctx, *out, opts)
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("eval interrupted; run the same command to resume")
	}
	if err != nil {
		return err
	}
	printEval(stdout, opts, res, time.Since(start))
	if err := report.Write(*out); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s, %s and %s\n", filepath.Join(*out, eval.ResultsFile), filepath.Join(*out, eval.SamplesFile),
		filepath.Join(*out, report.ReportFile))
	return nil
}

func firstDup(xs []string) string {
	seen := map[string]bool{}
	for _, x := range xs {
		if seen[x] {
			return x
		}
		seen[x] = true
	}
	return ""
}

// loadTasks reads the tasks, fetching built-in ones' data through the
// store (opened only when one is asked for).
func loadTasks(ctx context.Context, specs []string, quiet bool, stderr io.Writer, logf func(string, ...any)) ([]*eval.Task, error) {
	var src *eval.Source
	var ts []*eval.Task
	seen := map[string]bool{}
	for _, spec := range specs {
		if _, builtin := eval.Builtins[spec]; builtin && src == nil {
			s, err := store.OpenDefault()
			if err != nil {
				return nil, err
			}
			c := hub.NewFromEnv()
			c.OnRetry = func(try, retries int, wait time.Duration, err error) {
				logf("%v; retry %d of %d in %v", err, try, retries, wait.Round(100*time.Millisecond))
			}
			src = &eval.Source{Client: c, Store: s, Opts: hub.PullOptions{Logf: logf}}
			if !quiet {
				src.Opts.Meter = func(file string, size int64) hub.Meter { return termui.NewBar(stderr, file, size) }
			}
		}
		t, err := eval.Load(ctx, spec, src)
		if err != nil {
			return nil, err
		}
		if seen[t.Name] {
			return nil, usageError("two tasks are named %s", t.Name)
		}
		seen[t.Name] = true
		ts = append(ts, t)
	}
	return ts, nil
}

// openEvalModel opens a model argument: a local file run in process, or an
// endpoint.
func openEvalModel(ref, keyEnv string, budgets bool, eo engine.Options, slots int, stderr io.Writer) (*eval.Model, func(), error) {
	target, err := resolveTarget(ref)
	if err != nil {
		return nil, nil, err
	}
	if ep := target.endpoint; ep != nil {
		c, err := remote.FromEnv(*ep, keyEnv)
		if err != nil {
			if ep.KeyEnv != "" && keyEnv == "" {
				return nil, nil, fmt.Errorf("%v (or name the variable that holds the key with --api-key-env VAR)", err)
			}
			return nil, nil, err
		}
		if budgets && !ep.Budgets() {
			fmt.Fprintf(stderr, "qilin eval: warning: %s takes no reasoning budget; --think-budget changes nothing for it\n", ep.Title)
		}
		m := &eval.Model{Name: ref, Chat: c, Stream: true, Info: eval.ModelInfo{Kind: "remote", Endpoint: ep.BaseURL, Model: ep.Model}}
		return m, func() {}, nil
	}
	e, err := target.file.load(eo)
	if err != nil {
		return nil, nil, err
	}
	checkTemplate(e, "eval", ref, true, stderr)
	l, err := eval.NewLocal(e, slots)
	if err != nil {
		e.Close()
		return nil, nil, err
	}
	m := &eval.Model{Name: ref, Chat: l, Local: l, Info: eval.ModelInfo{Kind: "local", Model: teacherName(target)}}
	return m, func() {
		l.Close()
		e.Close()
	}, nil
}

// printEval prints one line per task and model.
func printEval(w io.Writer, opts eval.Options, res *eval.Results, took time.Duration) {
	tw, mw := len("task"), len("model")
	for _, t := range opts.Tasks {
		tw = max(tw, len(t.Name))
	}
	for _, m := range opts.Models {
		mw = max(mw, len(m.Name))
	}
	fmt.Fprintf(w, "%-*s %-*s %12s %17s %6s %10s %8s\n", tw, "task", mw, "model", "score", "95% CI", "n", "tokens", "tok/s")
	for _, t := range opts.Tasks {
		for _, m := range opts.Models {
			sc := res.Tasks[t.Name][m.Name]
			if sc == nil {
				continue
			}
			score, ci := fmt.Sprintf("%.3f", sc.Accuracy), fmt.Sprintf("[%.3f, %.3f]", sc.CI95[0], sc.CI95[1])
			if t.Kind == eval.Perplexity {
				score, ci = fmt.Sprintf("ppl %.4g", sc.Perplexity), ""
			}
			tokens := sc.Tokens.Completion
			if t.Kind == eval.Perplexity {
				tokens = sc.Tokens.Prompt // scored
			}
			fmt.Fprintf(w, "%-*s %-*s %12s %17s %6d %10d %8.1f\n", tw, t.Name, mw, m.Name, score, ci, sc.N, tokens, sc.TokPerS)
			var extra []string
			for _, k := range slices.Sorted(maps.Keys(sc.PassAt)) {
				if k != "1" {
					extra = append(extra, fmt.Sprintf("pass@%s %.3f", k, sc.PassAt[k]))
				}
			}
			for k, v := range sc.ConsAt {
				extra = append(extra, fmt.Sprintf("cons@%s %.3f", k, v))
			}
			if ll := sc.LogLik; ll != nil {
				extra = append(extra, fmt.Sprintf("log-likelihood acc %.3f acc_norm %.3f", ll.Acc, ll.AccNorm))
			}
			for _, b := range slices.Sorted(maps.Keys(sc.ThinkBudgets)) {
				extra = append(extra, fmt.Sprintf("budget %s: %.3f", b, sc.ThinkBudgets[b].Accuracy))
			}
			if sc.Unfinished > 0 {
				extra = append(extra, fmt.Sprintf("%d unclosed reasoning", sc.Unfinished))
			}
			if sc.Errors > 0 {
				extra = append(extra, fmt.Sprintf("%d samples missing after errors (rerun to retry)", sc.Errors))
			}
			if len(extra) > 0 {
				fmt.Fprintf(w, "%-*s %s\n", tw, "", strings.Join(extra, "; "))
			}
		}
	}
	fmt.Fprintf(w, "took %v\n", took.Round(time.Millisecond))
}
