package main

import (
	"context"
	"encoding/json"
	"errors"
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
	wmKeyFile := watermarkKeyFlag(fs)
	think := fs.Bool("think", engine.ThinkingDefault, "let a reasoning model think (enable_thinking in its template; --think=false implies --chat)")
	budget := fs.Int("reasoning-budget", -1, "with --chat, close the reasoning after `N` tokens (-1: no bound, 0: answer at once)")
	var stops stringList
	fs.Var(&stops, "stop", "end the output before this `TEXT` (repeatable)")
	var cf constraintFlags
	cf.register(fs, "json-schema")
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
		if f.Name == "system" || f.Name == "think" || f.Name == "reasoning-budget" {
			*useChat = true
		}
	})
	if err := firstError(sf.check(), checkMaxTokens(*maxTokens, 0)); err != nil {
		return err
	}
	if *useChat && *tokens != "" {
		return usageError("--tokens cannot be used with --chat, --system, --think or --reasoning-budget")
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

	g, err := cf.compile()
	if err != nil {
		return err
	}
	start := time.Now()
	wmKey, err := loadMarkingKey(*wmKeyFile)
	if err != nil {
		return err
	}
	e, _, err := lf.load(stderr)
	if err != nil {
		return err
	}
	defer e.Close()
	if err := checkMaxTokens(*maxTokens, e.Context()); err != nil {
		return err
	}
	loaded := time.Now()
	req := engine.Request{MaxTokens: *maxTokens, Sample: sf.params(), Stop: stops}
	markRequest(&req, wmKey, stderr)
	var parser *chat.OutputParser
	if *useChat {
		checkTemplate(e, "run", lf.model, *think, stderr)
		var msgs []chat.Message
		if *system != "" {
			msgs = append(msgs, chat.Message{Role: "system", Content: *system})
		}
		p, err := renderChat(e, append(msgs, chat.Message{Role: "user", Content: *prompt}), *think)
		if err != nil {
			return err
		}
		req.Prompt, req.Reasoning = p.Tokens, p.Reasoning
		if p.Reasoning != nil && *budget >= 0 {
			p.Reasoning.Budget = *budget
		}
		parser = chat.NewOutputParser(chat.OutputOptions{Reasoning: true, ReasoningStartsOpen: p.StartsOpen()})
	} else if req.Prompt, err = promptTokens(e, *prompt, *tokens, *addSpecial && e.Tok.AddBOS()); err != nil {
		return err
	}
	if g != nil {
		// The answer follows the grammar (after the reasoning, with --chat).
		c, err := e.Constrain(g)
		if err != nil {
			return err
		}
		req.Processors = append([]engine.Processor{c}, req.Processors...)
	}
	// One generation path: a scheduler with one slot, as the server runs
	// many.
	sched := e.NewScheduler(engine.SchedOptions{Slots: 1})
	defer sched.Close(context.Background())
	req.Sample.Seed = engine.Seed(req.Sample) // printed with --verbose, to rerun
	st, err := sched.Submit(ctx, req)
	if err != nil {
		return err
	}
	// With --chat the answer goes to stdout and the reasoning to stderr.
	aw := &termui.AnswerWriter{Answer: stdout, Reasoning: stderr, Dim: termui.IsTerminal(stderr)}
	var reasoning, content, text strings.Builder
	emit := func(d chat.Delta) {
		reasoning.WriteString(d.Reasoning)
		content.WriteString(d.Content)
		if !*asJSON {
			aw.Write(d.Reasoning, d.Content)
		}
	}
	var out []int
	var firstTok time.Time
	for ev, ok := st.Recv(); ok; ev, ok = st.Recv() {
		if ev.Token >= 0 {
			if firstTok.IsZero() {
				firstTok = time.Now()
			}
			out = append(out, ev.Token)
		}
		text.WriteString(ev.Text)
		switch {
		case parser != nil:
			emit(parser.Push(ev.Text))
		case !*asJSON:
			io.WriteString(stdout, ev.Text)
		}
	}
	res := st.Result()
	if res.Err != nil {
		return res.Err
	}
	if parser != nil {
		emit(parser.Flush())
	}
	if *asJSON {
		jr := runResult{PromptTokens: nonNil(req.Prompt), Tokens: nonNil(out), Text: text.String(), StopReason: string(res.Reason)}
		if parser != nil {
			r, c := reasoning.String(), content.String()
			jr.Reasoning, jr.Content = &r, &c
		}
		return json.NewEncoder(stdout).Encode(jr)
	}
	if parser != nil {
		if err := aw.End(); err != nil {
			return err
		}
	} else {
		fmt.Fprintln(stdout)
	}
	if *verbose {
		end := time.Now()
		fmt.Fprintf(stderr, "load %v, prompt %d tokens in %v, generated %d tokens (%.1f tok/s), stop: %s, seed %d\n",
			loaded.Sub(start).Round(time.Millisecond), len(req.Prompt), firstTok.Sub(loaded).Round(time.Millisecond),
			len(out), float64(len(out)-1)/end.Sub(firstTok).Seconds(), res.Reason, req.Sample.Seed)
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

// sampleFlags are the sampling flags of run and chat; their defaults are
// sample.Defaults, as the server's.
type sampleFlags struct {
	temp, topP, minP, repeat float64
	topK                     int
	seed                     uint64
}

func (s *sampleFlags) register(fs *flag.FlagSet) {
	d := sample.Defaults()
	fs.Float64Var(&s.temp, "temp", float64(d.Temperature), "sampling temperature (0: greedy)")
	fs.IntVar(&s.topK, "top-k", d.TopK, "keep the `K` most likely tokens (0: all)")
	fs.Float64Var(&s.topP, "top-p", float64(d.TopP), "nucleus sampling threshold")
	fs.Float64Var(&s.minP, "min-p", float64(d.MinP), "drop tokens below this share of the top probability")
	fs.Float64Var(&s.repeat, "repeat-penalty", 1.0, "penalty for repeating recent tokens (1: off)")
	fs.Uint64Var(&s.seed, "seed", 0, "random seed: the same seed gives the same text here and through the API (0: a random one)")
}

// check validates the flags with the server's ranges and messages
// (sample.Ranges), naming the flag instead of the request field.
func (s *sampleFlags) check() error {
	err := s.params().Validate()
	var pe *sample.ParamError
	if errors.As(err, &pe) {
		return usageError("--%s: %v", strings.NewReplacer("temperature", "temp", "_", "-").Replace(pe.Param), pe.Err)
	}
	return err
}

// params returns the sampling parameters; seed 0 asks for a random seed
// (engine.Seed).
func (s *sampleFlags) params() sample.Params {
	p := sample.Defaults()
	p.Temperature, p.TopK, p.TopP, p.MinP = float32(s.temp), s.topK, float32(s.topP), float32(s.minP)
	p.RepeatPenalty, p.Seed = float32(s.repeat), s.seed
	return p
}
