package main

import (
	"flag"
	"fmt"
	"strconv"
	"strings"

	"github.com/qilin-ai/qilin/engine"
)

// loadFlags are the flags every command that loads a model shares.
type loadFlags struct {
	model   string
	threads int
	ctx     int
	noMmap  bool
}

func (l *loadFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&l.model, "model", "", "model `FILE` (a GGUF file) or store name")
	fs.IntVar(&l.threads, "threads", 0, "worker threads (0: all CPUs)")
	fs.IntVar(&l.ctx, "ctx", 0, "context length in tokens (0: the model's, at most 4096)")
	fs.BoolVar(&l.noMmap, "no-mmap", false, "read the model into memory instead of mapping it")
}

// positionalModel takes the model from the first positional argument when
// --model was not given, and returns the remaining arguments.
func (l *loadFlags) positionalModel(pos []string) []string {
	if l.model == "" && len(pos) > 0 {
		l.model, pos = pos[0], pos[1:]
	}
	return pos
}

// takeModel is positionalModel for commands that take no other positional
// arguments.
func (l *loadFlags) takeModel(pos []string) error {
	if pos = l.positionalModel(pos); len(pos) > 0 {
		return usageError("unexpected arguments %q", pos)
	}
	return nil
}

// load resolves the model reference and loads it.
func (l *loadFlags) load() (*engine.Engine, error) {
	path, err := resolveModel(l.model)
	if err != nil {
		return nil, err
	}
	return engine.Load(path, engine.Options{Threads: l.threads, Context: l.ctx, NoMmap: l.noMmap})
}

// promptTokens returns the prompt as token ids: --tokens when given,
// otherwise the tokenized --prompt text (BOS added when addSpecial).
func promptTokens(e *engine.Engine, text, tokens string, addSpecial bool) ([]int, error) {
	if tokens != "" {
		var ids []int
		for _, f := range strings.Split(tokens, ",") {
			id, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || id < 0 || id >= e.Model.NVocab {
				return nil, usageError("--tokens: %q is not a token id below %d", f, e.Model.NVocab)
			}
			ids = append(ids, id)
		}
		return ids, nil
	}
	ids, err := e.Tok.Encode(text, addSpecial, false)
	if err != nil {
		return nil, fmt.Errorf("tokenize prompt: %w", err)
	}
	return ids, nil
}
