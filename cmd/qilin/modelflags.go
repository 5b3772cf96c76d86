package main

import (
	"flag"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"strings"

	"github.com/qilin-ai/qilin/engine"
	"github.com/qilin-ai/qilin/internal/builtinmodel"
	"github.com/qilin-ai/qilin/internal/termui"
)

// loadFlags are the flags every command that loads a model shares.
type loadFlags struct {
	model   string
	threads int
	ctx     int
	noMmap  bool
	// chatTemplate overrides the model's chat template (serve
	// --chat-template-file); empty keeps the model's.
	chatTemplate string
	// slots is how many sequences of ctx positions the command keeps (serve
	// --parallel); 0 means one.
	slots int
}

func (l *loadFlags) register(fs *flag.FlagSet) {
	modelFlag(fs, &l.model)
	threadsFlag(fs, &l.threads)
	fs.IntVar(&l.ctx, "ctx", 0, "context length in `TOKENS` (0: the model's, at most 4096)")
	alias(fs, "c", "ctx")
	fs.BoolVar(&l.noMmap, "no-mmap", false, "read the model into memory instead of mapping it")
}

// modelFlag registers --model and -m, the model of every command that takes
// one (also accepted as the first positional argument).
func modelFlag(fs *flag.FlagSet, model *string) {
	fs.StringVar(model, "model", "", "model `FILE` (a GGUF file) or store name (default: the built-in "+builtinmodel.Name+")")
	alias(fs, "m", "model")
}

// threadsFlag registers --threads and -t with the one default every
// command uses: all CPUs.
func threadsFlag(fs *flag.FlagSet, threads *int) {
	fs.IntVar(threads, "threads", runtime.NumCPU(), "worker `THREADS` (0: all CPUs)")
	alias(fs, "t", "threads")
}

// alias registers the short flag name for the flag long, sharing its value.
func alias(fs *flag.FlagSet, short, long string) {
	f := fs.Lookup(long)
	fs.Var(f.Value, short, "short for --"+long)
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

// check validates the numbers of the flags.
func (l *loadFlags) check() error {
	return firstError(checkThreads(l.threads), checkNonNegative("ctx", l.ctx))
}

// load resolves the model reference and loads it, with a spinner on
// stderr when it is a terminal. A --ctx whose KV caches would not fit in
// memory is an error; one above the model's training context, a warning.
func (l *loadFlags) load(stderr io.Writer) (*engine.Engine, modelFile, error) {
	if err := l.check(); err != nil {
		return nil, modelFile{}, err
	}
	mf, err := resolveModel(l.model)
	if err != nil {
		return nil, mf, err
	}
	sp := termui.NewSpinner(stderr, "loading "+mf.name())
	e, err := mf.load(l.options())
	sp.Stop()
	if err != nil {
		return nil, mf, err
	}
	warning, err := checkContext(e.Context(), e.Model.NCtxTrain, kvCacheBytes(e.Model, e.Context(), l.slots), totalMemory())
	if err != nil {
		e.Close()
		return nil, mf, err
	}
	if warning != "" {
		fmt.Fprintf(stderr, "qilin: warning: %s\n", warning)
	}
	return e, mf, nil
}

// options are the engine options of the flags.
func (l *loadFlags) options() engine.Options {
	return engine.Options{Threads: l.threads, Context: l.ctx, NoMmap: l.noMmap, ChatTemplate: l.chatTemplate}
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
