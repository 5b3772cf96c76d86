package main

import (
	"context"
	"encoding/json"
	"errors"
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
	register(&command{name: "chat", summary: "talk with a model in the terminal", run: runChat})
}

// chatStdin is where qilin chat reads the user's messages; tests replace it.
var chatStdin io.Reader = os.Stdin

const chatHelp = `Commands:
  /think on|off     let the model reason before it answers, or not (enable_thinking)
  /think show|hide  show the reasoning dimmed, or hide it
  /system TEXT      set the system prompt (and start over); /system alone shows it
  /clear            forget the conversation (the system prompt stays)
  /save FILE        write the conversation as JSON (OpenAI-style messages)
  /stats            speed of the last answer and context used
  /help             this list
  /bye              leave (or Ctrl-D)
A line ending in \ continues on the next; """ starts and ends a block of lines.
Ctrl-C stops an answer, or drops the line being typed.
`

func runChat(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("chat", "[[--model] MODEL] [flags]", stderr)
	var lf loadFlags
	lf.register(fs)
	var sf sampleFlags
	sf.register(fs)
	system := fs.String("system", "", "system prompt `TEXT`")
	think := fs.Bool("think", engine.ThinkingDefault, "let a reasoning model think (enable_thinking in its template)")
	hide := fs.Bool("hide-thinking", false, "do not show the reasoning (/think show brings it back)")
	maxTokens := fs.Int("max-tokens", 0, "stop each answer after `N` tokens (0: at the end of the turn or a full context)")
	alias(fs, "n", "max-tokens")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if err := lf.takeModel(pos); err != nil {
		return err
	}
	if err := firstError(sf.check(), checkMaxTokens(*maxTokens, 0)); err != nil {
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
	checkTemplate(e, "chat", lf.model, *think, stderr)
	if err := ctx.Err(); err != nil {
		return err // interrupted while loading
	}
	in, err := termui.NewInput(chatStdin, stdout, ">>> ", "... ")
	if err != nil {
		return err
	}
	defer in.Close()
	// One generation path: a scheduler with one slot, whose cache keeps
	// the conversation so far for the next turn's prompt.
	sched := e.NewScheduler(engine.SchedOptions{Slots: 1})
	defer sched.Close(context.Background())
	s := &chatSession{
		e: e, sched: sched, out: in.Writer(), tty: in.IsTerminal(),
		thinkSwitch: e.ThinkingSwitch(),
		system:      *system, think: *think, show: !*hide,
		maxTokens: *maxTokens, sample: sf.params(),
	}
	if s.tty {
		fmt.Fprintln(s.out, "Type a message, /help for commands, /bye or Ctrl-D to leave.")
	}

	// main cancels ctx on os.Interrupt; here an interrupt only stops the
	// answer (in.WatchInterrupt sees it too), so the chat lives on unless
	// ctx ends for another reason. os/signal.NotifyContext gives the
	// context a cause naming the signal.
	life, end := context.WithCancel(context.WithoutCancel(ctx))
	defer end()
	go func() {
		select {
		case <-ctx.Done():
			if c := context.Cause(ctx); c == ctx.Err() || !strings.HasSuffix(c.Error(), "signal received") {
				end()
			}
		case <-life.Done():
		}
	}()

	for life.Err() == nil {
		msg, err := in.ReadMessage()
		switch {
		case errors.Is(err, termui.ErrInterrupt):
			continue
		case errors.Is(err, io.EOF):
			return nil
		case err != nil:
			return err
		}
		if strings.TrimSpace(msg) == "" {
			continue
		}
		if cmd := strings.TrimSpace(msg); strings.HasPrefix(cmd, "/") && !strings.Contains(cmd, "\n") {
			if bye := s.command(cmd); bye {
				return nil
			}
			continue
		}
		if err := s.turn(life, msg, in); err != nil {
			var ue *chatUserError
			if !errors.As(err, &ue) {
				return err
			}
			s.note("%v", err)
		}
	}
	return life.Err()
}

// chatSession is the state of one qilin chat.
type chatSession struct {
	e         *engine.Engine
	sched     *engine.Scheduler // its one slot holds the evaluated conversation
	maxTokens int
	sample    sample.Params
	out       io.Writer
	tty       bool
	system    string
	msgs      []chat.Message // the turns, without the system prompt
	think     bool           // enable_thinking
	// thinkSwitch: the template reads enable_thinking.
	thinkSwitch bool
	show        bool // show the reasoning
	turns       int
	last        turnStats
	used        int // context positions the last turn left in the cache
}

// turnStats measure the last answer.
type turnStats struct {
	evaluated, reused int           // prompt tokens evaluated, and reused from the cache
	promptTime        time.Duration // evaluating the prompt (until the first token)
	tokens            int           // tokens generated
	genTime           time.Duration // from the first token to the last
}

// chatUserError is a problem with the user's input that the chat reports
// and carries on from.
type chatUserError struct{ msg string }

func (e *chatUserError) Error() string { return e.msg }

// note prints a remark of the REPL's own, dimmed on a terminal.
func (s *chatSession) note(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if s.tty {
		msg = termui.Faint(msg)
	}
	fmt.Fprintln(s.out, msg)
}

// command runs a /command and reports whether the chat should end.
func (s *chatSession) command(line string) (bye bool) {
	name, arg, _ := strings.Cut(line, " ")
	arg = strings.TrimSpace(arg)
	switch name {
	case "/bye", "/exit", "/quit":
		return true
	case "/help", "/?":
		fmt.Fprint(s.out, chatHelp)
	case "/think":
		switch arg {
		case "on", "off":
			s.think = arg == "on"
		case "show", "hide":
			s.show = arg == "show"
		case "":
		default:
			s.note("usage: /think on|off|show|hide")
			return false
		}
		s.note("thinking %s, reasoning %s", onOff(s.think, "on", "off"), onOff(s.show, "shown", "hidden"))
		if (arg == "on" || arg == "off") && !s.thinkSwitch {
			s.note("(this model's chat template has no enable_thinking switch: /think %s changes nothing)", arg)
		}
	case "/system":
		if arg == "" {
			s.note("system prompt: %s", onOff(s.system == "", "(none)", s.system))
			return false
		}
		s.system, s.msgs = arg, nil
		s.note("System prompt set; the conversation starts over.")
	case "/clear":
		s.msgs = nil
		s.note("Cleared the conversation.")
	case "/save":
		if arg == "" {
			s.note("usage: /save FILE")
			return false
		}
		if err := s.save(arg); err != nil {
			s.note("save: %v", err)
			return false
		}
		s.note("Saved %d messages to %s.", len(s.messages(nil)), arg)
	case "/stats":
		s.stats()
	default:
		s.note("unknown command %s; /help lists the commands", name)
	}
	return false
}

func onOff(b bool, yes, no string) string {
	if b {
		return yes
	}
	return no
}

// messages returns turns (the conversation when nil) with the system
// prompt first.
func (s *chatSession) messages(turns []chat.Message) []chat.Message {
	if turns == nil {
		turns = s.msgs
	}
	msgs := make([]chat.Message, 0, len(turns)+1)
	if s.system != "" {
		msgs = append(msgs, chat.Message{Role: "system", Content: s.system})
	}
	return append(msgs, turns...)
}

// save writes the conversation to path as a JSON array of messages.
func (s *chatSession) save(path string) error {
	b, err := json.MarshalIndent(s.messages(nil), "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// stats prints the speed of the last answer and the context in use.
func (s *chatSession) stats() {
	l := s.last
	if l.tokens > 0 {
		rate := "-"
		if l.tokens > 1 && l.genTime > 0 {
			rate = fmt.Sprintf("%.1f", float64(l.tokens-1)/l.genTime.Seconds())
		}
		fmt.Fprintf(s.out, "last answer: %d tokens, %s tokens/s\n", l.tokens, rate)
		fmt.Fprintf(s.out, "prompt: %d tokens evaluated, %d reused from the cache, in %v\n",
			l.evaluated, l.reused, l.promptTime.Round(time.Millisecond))
	}
	fmt.Fprintf(s.out, "context: %d of %d tokens used\n", s.used, s.e.Context())
}

// reserve is the room kept free for an answer when old turns are dropped.
func (s *chatSession) reserve() int {
	n := s.e.Context() / 4
	if s.maxTokens > 0 {
		n = s.maxTokens
	}
	return min(n, s.e.Context()/2)
}

// fit renders the conversation with the user's new message, dropping the
// oldest turns (never the system prompt or the new message) until it
// leaves room for an answer. Only on success are the dropped turns gone
// and the message added.
func (s *chatSession) fit(user chat.Message) (engine.ChatPrompt, error) {
	msgs := append(s.msgs[:len(s.msgs):len(s.msgs)], user)
	ctxLen := s.e.Context()
	for dropped := 0; ; {
		all := s.messages(msgs)
		p, err := renderChat(s.e, all, s.think)
		if err != nil {
			return p, &chatUserError{err.Error()}
		}
		if len(p.Tokens)+s.reserve() <= ctxLen || (len(msgs) == 1 && len(p.Tokens) < ctxLen) {
			if dropped > 0 {
				s.note("(dropped the %d oldest messages to fit the context of %d tokens)", dropped, ctxLen)
			}
			s.msgs = msgs
			return p, nil
		}
		if len(msgs) == 1 {
			return p, &chatUserError{fmt.Sprintf("the message does not fit: the prompt is %d tokens and the context holds %d (--ctx)", len(p.Tokens), ctxLen)}
		}
		// Drop the first turn: up to the next user message.
		i := 1
		for i < len(msgs)-1 && msgs[i].Role != "user" {
			i++
		}
		dropped += i
		msgs = msgs[i:]
	}
}

// turn answers the user's message, streaming the answer, and adds both
// to the conversation.
func (s *chatSession) turn(ctx context.Context, text string, in *termui.Input) error {
	p, err := s.fit(chat.Message{Role: "user", Content: text})
	if err != nil {
		return err
	}
	genCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	stopWatch := in.WatchInterrupt(cancel)
	defer stopWatch()

	parser := chat.NewOutputParser(chat.OutputOptions{Reasoning: true, ReasoningStartsOpen: p.StartsOpen()})
	aw := &termui.AnswerWriter{Answer: s.out, Reasoning: s.out, Dim: s.tty, Hide: !s.show}
	var reasoning, content strings.Builder
	emit := func(d chat.Delta) {
		reasoning.WriteString(d.Reasoning)
		content.WriteString(d.Content)
		aw.Write(d.Reasoning, d.Content)
	}
	req := engine.Request{Prompt: p.Tokens, MaxTokens: s.maxTokens, Sample: s.sample, Reasoning: p.Reasoning}
	if req.Sample.Seed != 0 {
		req.Sample.Seed += uint64(s.turns) // a seeded chat replays turn by turn
	}
	s.turns++
	start := time.Now()
	// The scheduler reuses the cache for the prefix this prompt shares with
	// the conversation so far.
	st, err := s.sched.Submit(genCtx, req)
	if err != nil {
		return &chatUserError{err.Error()}
	}
	var first time.Time
	n := 0
	for ev, ok := st.Recv(); ok; ev, ok = st.Recv() {
		if ev.Token >= 0 {
			if n == 0 {
				first = time.Now()
			}
			n++
		}
		emit(parser.Push(ev.Text))
	}
	end := time.Now()
	stopWatch()
	res := st.Result()
	if res.Err != nil {
		return res.Err
	}
	emit(parser.Flush())
	if err := aw.End(); err != nil {
		return err
	}
	s.used = res.PromptTokens + res.CompletionTokens
	s.last = turnStats{evaluated: res.PromptTokens - res.CachedTokens, reused: res.CachedTokens, tokens: n}
	if n > 0 {
		s.last.promptTime, s.last.genTime = first.Sub(start), end.Sub(first)
	} else {
		s.last.promptTime = end.Sub(start)
	}
	switch {
	case res.Reason == engine.StopCancelled:
		s.note("[stopped]")
	case res.Reason == engine.StopLength && s.used >= s.e.Context():
		s.note("[the context is full: the answer was cut short; older messages will be dropped]")
	}
	s.msgs = append(s.msgs, chat.Message{Role: "assistant", Content: content.String(), ReasoningContent: reasoning.String()})
	return nil
}

// renderChat renders msgs with the model's template, opening the
// assistant's turn, with enable_thinking set to think (templates such as
// DeepSeek-R1-Distill's and QwQ's open the reasoning only when it is true).
func renderChat(e *engine.Engine, msgs []chat.Message, think bool) (engine.ChatPrompt, error) {
	return e.RenderChat(chat.Input{
		Messages:            msgs,
		AddGenerationPrompt: true,
		Vars:                map[string]any{"enable_thinking": think},
	})
}

// checkTemplate warns when the model has no chat template of its own, or
// when --think=false asks for what its template cannot do.
func checkTemplate(e *engine.Engine, cmd, model string, think bool, stderr io.Writer) {
	if w := e.TemplateWarning(); w != "" {
		fmt.Fprintf(stderr, "qilin %s: warning: %s: %s\n", cmd, model, w)
	} else if !think && !e.ThinkingSwitch() {
		fmt.Fprintf(stderr, "qilin %s: warning: the chat template of %s has no enable_thinking switch, so --think=false changes nothing\n", cmd, model)
	}
}
