package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/qilin-ai/qilin/chat"
	"github.com/qilin-ai/qilin/engine"
	"github.com/qilin-ai/qilin/internal/termui"
	"github.com/qilin-ai/qilin/sample"
)

func init() {
	register(&command{name: "run", summary: "generate text from a prompt", run: runRun})
}

func runRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("run", "[[--model] MODEL] [PROMPT] [flags]", stderr)
	var lf loadFlags
	lf.register(fs)
	var sf sampleFlags
	sf.register(fs)
	prompt := fs.String("prompt", "", "prompt `TEXT` (default: the positional argument, else standard input)")
	tokens := fs.String("tokens", "", "prompt as comma-separated token `IDS` instead of text")
	alias(fs, "p", "prompt")
	maxTokens := fs.Int("max-tokens", 256, "stop after `N` generated tokens (0: until the context is full)")
	alias(fs, "n", "max-tokens")
	asJSON := fs.Bool("json", false, `print one JSON object {"prompt_tokens","tokens","text","stop_reason"} (with --chat also "reasoning","content")`)
	addSpecial := fs.Bool("add-special", true, "add the model's BOS token to a text prompt when its metadata says so")
	verbose := fs.Bool("verbose", false, "print timing to standard error")
	useChat := fs.Bool("chat", false, "apply the model's chat template to the prompt as one user turn; print the reasoning (to standard error) apart from the answer")
	system := fs.String("system", "", "system prompt `TEXT` (implies --chat)")
	think := fs.Bool("think", true, "let a reasoning model think (enable_thinking in its template; --think=false implies --chat)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	pos = lf.positionalModel(pos)
	if *prompt == "" && len(pos) > 0 {
		*prompt, pos = pos[0], pos[1:]
	}
	if len(pos) > 0 {
		return usageError("unexpected arguments %q", pos)
	}
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "system" || f.Name == "think" {
			*useChat = true
		}
	})
	if err := firstError(sf.check(), checkMaxTokens(*maxTokens, 0)); err != nil {
		return err
	}
	if *useChat && *tokens != "" {
		return usageError("--tokens cannot be used with --chat, --system or --think")
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

	start := time.Now()
	e, _, err := lf.load(stderr)
	if err != nil {
		return err
	}
	defer e.Close()
	if err := checkMaxTokens(*maxTokens, e.Context()); err != nil {
		return err
	}
	loaded := time.Now()
	var ids []int
	var parser *chat.OutputParser
	if *useChat {
		if err := checkTemplate(e, "run", lf.model, *think, stderr); err != nil {
			return err
		}
		var msgs []chat.Message
		if *system != "" {
			msgs = append(msgs, chat.Message{Role: "system", Content: *system})
		}
		p, err := renderChat(e, append(msgs, chat.Message{Role: "user", Content: *prompt}), *think)
		if err != nil {
			return err
		}
		ids = p.Tokens
		parser = chat.NewOutputParser(chat.OutputOptions{Reasoning: true, ReasoningStartsOpen: p.ThinkingOpen})
	} else if ids, err = promptTokens(e, *prompt, *tokens, *addSpecial && e.Tok.AddBOS()); err != nil {
		return err
	}
	seq := e.NewSequence()
	opts := engine.GenerateOptions{MaxTokens: *maxTokens, Sample: sf.params()}
	var out []int
	dec := e.Tok.NewStreamDecoder()
	// With --chat the answer goes to stdout and the reasoning to stderr.
	aw := &termui.AnswerWriter{Answer: stdout, Reasoning: stderr, Dim: termui.IsTerminal(stderr)}
	var reasoning, content strings.Builder
	emit := func(d chat.Delta) {
		reasoning.WriteString(d.Reasoning)
		content.WriteString(d.Content)
		if !*asJSON {
			aw.Write(d.Reasoning, d.Content)
		}
	}
	var firstTok time.Time
	stop, err := seq.Generate(ctx, ids, opts, func(tok int) bool {
		if firstTok.IsZero() {
			firstTok = time.Now()
		}
		out = append(out, tok)
		switch {
		case parser != nil:
			emit(parser.Push(dec.Push(tok)))
		case !*asJSON:
			io.WriteString(stdout, dec.Push(tok))
		}
		return true
	})
	if err != nil {
		return err
	}
	if parser != nil {
		d := parser.Push(dec.Flush())
		d.Append(parser.Flush())
		emit(d)
	}
	if *asJSON {
		res := runResult{PromptTokens: nonNil(ids), Tokens: nonNil(out), Text: e.Tok.Decode(out), StopReason: string(stop)}
		if parser != nil {
			r, c := reasoning.String(), content.String()
			res.Reasoning, res.Content = &r, &c
		}
		return json.NewEncoder(stdout).Encode(res)
	}
	if parser != nil {
		if err := aw.End(); err != nil {
			return err
		}
	} else {
		io.WriteString(stdout, dec.Flush())
		fmt.Fprintln(stdout)
	}
	if *verbose {
		end := time.Now()
		fmt.Fprintf(stderr, "load %v, prompt %d tokens in %v, generated %d tokens (%.1f tok/s), stop: %s\n",
			loaded.Sub(start).Round(time.Millisecond), len(ids), firstTok.Sub(loaded).Round(time.Millisecond),
			len(out), float64(len(out)-1)/end.Sub(firstTok).Seconds(), stop)
	}
	return nil
}

// runResult is what run --json prints.
type runResult struct {
	PromptTokens []int  `json:"prompt_tokens"`
	Tokens       []int  `json:"tokens"`
	Text         string `json:"text"`
	StopReason   string `json:"stop_reason"`
	// With --chat: the output split into reasoning and answer.
	Reasoning *string `json:"reasoning,omitempty"`
	Content   *string `json:"content,omitempty"`
}

// nonNil returns s, or an empty slice instead of nil so JSON shows [].
func nonNil(s []int) []int {
	if s == nil {
		return []int{}
	}
	return s
}

// sampleFlags are the sampling flags of run and chat.
type sampleFlags struct {
	temp, topP, minP, repeat float64
	topK                     int
	seed                     uint64
}

func (s *sampleFlags) register(fs *flag.FlagSet) {
	fs.Float64Var(&s.temp, "temp", 0.8, "sampling temperature, 0 to 2 (0: greedy)")
	fs.IntVar(&s.topK, "top-k", 40, "keep the `K` most likely tokens (0: all)")
	fs.Float64Var(&s.topP, "top-p", 0.95, "nucleus sampling threshold, 0 to 1")
	fs.Float64Var(&s.minP, "min-p", 0.05, "drop tokens below this share of the top probability, 0 to 1")
	fs.Float64Var(&s.repeat, "repeat-penalty", 1.0, "penalty for repeating recent tokens, 0 to 10 (1: off)")
	fs.Uint64Var(&s.seed, "seed", 0, "random seed (0: from the clock)")
}

// check validates the flags with the server's ranges.
func (s *sampleFlags) check() error {
	return firstError(tempRange.check(s.temp), topPRange.check(s.topP), minPRange.check(s.minP),
		repeatPenaltyRange.check(s.repeat), checkNonNegative("top-k", s.topK))
}

// params returns the sampling parameters, with a seed from the clock when
// none was given.
func (s *sampleFlags) params() sample.Params {
	seed := s.seed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	return sample.Params{
		Temperature: float32(s.temp), TopK: s.topK, TopP: float32(s.topP), MinP: float32(s.minP),
		RepeatPenalty: float32(s.repeat), RepeatLastN: 64, Seed: seed,
	}
}
