package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/qilin-ai/qilin/chat"
	"github.com/qilin-ai/qilin/engine"
	"github.com/qilin-ai/qilin/gguf"
)

func init() {
	register(&command{
		name:    "render",
		summary: "print the prompt a chat template makes of a conversation",
		run:     runRender,
	})
}

// varFlags collects repeated --var NAME=VALUE flags. VALUE is JSON when it
// parses as JSON (false, 3, {"a": 1}, "quoted"), otherwise a plain string.
type varFlags map[string]any

func (v varFlags) String() string { return "" }

func (v varFlags) Set(s string) error {
	name, value, ok := strings.Cut(s, "=")
	if !ok || name == "" {
		return fmt.Errorf("want NAME=VALUE, got %q", s)
	}
	if json.Valid([]byte(value)) {
		v[name] = json.RawMessage(value)
	} else {
		v[name] = value
	}
	return nil
}

func runRender(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("render", "[--model] MODEL|--template FILE.jinja --messages FILE.json [--tools FILE.json] [--var NAME=VALUE ...] [--no-generation-prompt]", stderr)
	model := fs.String("model", "", "take the template and bos/eos tokens from this `MODEL` (GGUF file or store name)")
	alias(fs, "m", "model")
	templatePath := fs.String("template", "", "Jinja chat template `FILE` (bos_token/eos_token unset unless given with --var)")
	messagesPath := fs.String("messages", "", "conversation: a JSON array of messages in `FILE`")
	toolsPath := fs.String("tools", "", "tool definitions: a JSON array in `FILE`")
	noGen := fs.Bool("no-generation-prompt", false, "do not open an assistant turn at the end (add_generation_prompt=false)")
	nowFlag := fs.String("now", "", "fix the clock of strftime_now to `TIME` (RFC 3339, e.g. 2026-11-28T12:00:00Z)")
	vars := varFlags{}
	fs.Var(vars, "var", "set template variable `NAME=VALUE` (repeatable; VALUE is JSON if it parses, else a string), e.g. enable_thinking=false")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if *model == "" && *templatePath == "" && len(pos) > 0 {
		*model, pos = pos[0], pos[1:]
	}
	if len(pos) > 0 {
		return usageError("unexpected argument %q", pos[0])
	}
	if (*model == "") == (*templatePath == "") {
		return usageError("give exactly one of --model MODEL (or MODEL as an argument) and --template FILE.jinja")
	}
	if *messagesPath == "" {
		return usageError("no conversation given (use --messages FILE.json)")
	}

	in := chat.Input{AddGenerationPrompt: !*noGen, Vars: vars}
	if *nowFlag != "" {
		at, err := time.Parse(time.RFC3339, *nowFlag)
		if err != nil {
			return usageError("--now: %v", err)
		}
		in.Now = func() time.Time { return at }
	}
	if in.RawMessages, err = readJSONArray(*messagesPath, "messages"); err != nil {
		return err
	}
	if *toolsPath != "" {
		raw, err := readJSONArray(*toolsPath, "tools")
		if err != nil {
			return err
		}
		if err := json.Unmarshal(raw, &in.Tools); err != nil {
			return fmt.Errorf("tools %s: %w", *toolsPath, err)
		}
	}

	var tmpl *chat.Template
	if *templatePath != "" {
		src, err := os.ReadFile(*templatePath)
		if err != nil {
			return err
		}
		if tmpl, err = chat.NewTemplate(string(src)); err != nil {
			return fmt.Errorf("%s: %w", *templatePath, err)
		}
	} else {
		mf, err := resolveModel(*model)
		if err != nil {
			return err
		}
		path := mf.Path
		f, err := mf.open(false)
		if err != nil {
			return err
		}
		var warning string
		tmpl, warning, err = engine.LoadTemplate(f, "")
		in.BOS, in.EOS = modelSpecialTokens(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if warning != "" {
			fmt.Fprintf(stderr, "qilin render: warning: %s: %s\n", path, warning)
		}
	}

	prompt, err := tmpl.Render(in)
	if err != nil {
		return err
	}
	if _, err := io.WriteString(stdout, prompt); err != nil {
		return err
	}
	// On a terminal, end the last line so that the shell prompt does not
	// run into it; into a pipe or file the prompt goes byte-exact.
	if f, ok := stdout.(*os.File); ok && term.IsTerminal(int(f.Fd())) && !strings.HasSuffix(prompt, "\n") {
		fmt.Fprintln(stdout)
	}
	return nil
}

// readJSONArray reads a file that must hold one JSON array.
func readJSONArray(path, what string) (json.RawMessage, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var items []json.RawMessage
	if err := json.Unmarshal(data, &items); err != nil {
		return nil, fmt.Errorf("%s %s: want a JSON array: %w", what, path, err)
	}
	return data, nil
}

// modelSpecialTokens returns a model's BOS and EOS token strings ("" when
// the model defines none), read from its metadata without loading its
// tokenizer.
func modelSpecialTokens(f *gguf.File) (bos, eos string) {
	tokens := f.Strings("tokenizer.ggml.tokens")
	token := func(key string) string {
		if _, ok := f.Get(key); !ok {
			return ""
		}
		id := f.Int(key, -1)
		if id < 0 || id >= int64(len(tokens)) {
			return ""
		}
		return tokens[id]
	}
	return token("tokenizer.ggml.bos_token_id"), token("tokenizer.ggml.eos_token_id")
}
