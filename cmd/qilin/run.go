package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/qilin-ai/qilin/engine"
	"github.com/qilin-ai/qilin/sample"
)

func init() {
	register(&command{name: "run", summary: "generate text from a prompt", run: runRun})
}

func runRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("run", "[--model] MODEL [PROMPT] [flags]", stderr)
	var lf loadFlags
	lf.register(fs)
	prompt := fs.String("prompt", "", "prompt `TEXT` (default: the positional argument, else standard input)")
	tokens := fs.String("tokens", "", "prompt as comma-separated token `IDS` instead of text")
	maxTokens := fs.Int("max-tokens", 256, "stop after `N` generated tokens (0: until the context is full)")
	temp := fs.Float64("temp", 0.8, "sampling temperature (0: greedy)")
	topK := fs.Int("top-k", 40, "keep the `K` most likely tokens (0: all)")
	topP := fs.Float64("top-p", 0.95, "nucleus sampling threshold")
	minP := fs.Float64("min-p", 0.05, "drop tokens below this share of the top probability")
	repeat := fs.Float64("repeat-penalty", 1.0, "penalty for repeating recent tokens (1: off)")
	seed := fs.Uint64("seed", 0, "random seed (0: from the clock)")
	asJSON := fs.Bool("json", false, `print one JSON object {"prompt_tokens","tokens","text"}`)
	addSpecial := fs.Bool("add-special", true, "add the model's BOS token to a text prompt when its metadata says so")
	verbose := fs.Bool("verbose", false, "print timing to standard error")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if lf.model == "" && len(pos) > 0 {
		lf.model, pos = pos[0], pos[1:]
	}
	if *prompt == "" && len(pos) > 0 {
		*prompt, pos = pos[0], pos[1:]
	}
	if len(pos) > 0 {
		return usageError("unexpected arguments %q", pos)
	}
	if *prompt == "" && *tokens == "" {
		if fi, err := os.Stdin.Stat(); err == nil && fi.Mode()&os.ModeCharDevice == 0 {
			b, err := io.ReadAll(os.Stdin)
			if err != nil {
				return err
			}
			*prompt = string(b)
		}
	}
	if *prompt == "" && *tokens == "" {
		return usageError("no prompt: give --prompt TEXT, a positional prompt, --tokens or standard input")
	}
	if *seed == 0 {
		*seed = uint64(time.Now().UnixNano())
	}

	start := time.Now()
	e, err := lf.load()
	if err != nil {
		return err
	}
	defer e.Close()
	loaded := time.Now()
	ids, err := promptTokens(e, *prompt, *tokens, *addSpecial && e.Tok.AddBOS())
	if err != nil {
		return err
	}
	seq := e.NewSequence()
	opts := engine.GenerateOptions{
		MaxTokens: *maxTokens,
		Sample: sample.Params{
			Temperature: float32(*temp), TopK: *topK, TopP: float32(*topP), MinP: float32(*minP),
			RepeatPenalty: float32(*repeat), RepeatLastN: 64, Seed: *seed,
		},
	}
	var out []int
	dec := e.Tok.NewStreamDecoder()
	var firstTok time.Time
	stop, err := seq.Generate(ctx, ids, opts, func(tok int) bool {
		if firstTok.IsZero() {
			firstTok = time.Now()
		}
		out = append(out, tok)
		if !*asJSON {
			io.WriteString(stdout, dec.Push(tok))
		}
		return true
	})
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(struct {
			PromptTokens []int  `json:"prompt_tokens"`
			Tokens       []int  `json:"tokens"`
			Text         string `json:"text"`
			StopReason   string `json:"stop_reason"`
		}{nonNil(ids), nonNil(out), e.Tok.Decode(out), string(stop)})
	}
	io.WriteString(stdout, dec.Flush())
	fmt.Fprintln(stdout)
	if *verbose {
		end := time.Now()
		fmt.Fprintf(stderr, "load %v, prompt %d tokens in %v, generated %d tokens (%.1f tok/s), stop: %s\n",
			loaded.Sub(start).Round(time.Millisecond), len(ids), firstTok.Sub(loaded).Round(time.Millisecond),
			len(out), float64(len(out)-1)/end.Sub(firstTok).Seconds(), stop)
	}
	return nil
}

// nonNil returns s, or an empty slice instead of nil so JSON shows [].
func nonNil(s []int) []int {
	if s == nil {
		return []int{}
	}
	return s
}
