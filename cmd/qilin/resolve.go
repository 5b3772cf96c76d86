package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/qilin-ai/qilin/engine"
	"github.com/qilin-ai/qilin/gguf"
	"github.com/qilin-ai/qilin/internal/builtinmodel"
	"github.com/qilin-ai/qilin/internal/hub"
	"github.com/qilin-ai/qilin/store"
)

// modelFile is a resolved model: a GGUF file on disk, or the model built
// into the binary.
type modelFile struct {
	// Path is the file (the first part of a split model); for the built-in
	// model, its name.
	Path    string
	Builtin bool
}

// open opens the model's GGUF file.
func (m modelFile) open(noMmap bool) (*gguf.File, error) {
	if m.Builtin {
		return builtinmodel.Open()
	}
	return gguf.OpenWith(m.Path, gguf.Options{NoMmap: noMmap})
}

// load opens the model and prepares it for generation.
func (m modelFile) load(opts engine.Options) (*engine.Engine, error) {
	f, err := m.open(opts.NoMmap)
	if err != nil {
		return nil, err
	}
	e, err := engine.New(f, opts)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", m.Path, err)
	}
	return e, nil
}

// name is the model's file name, or the built-in model's name.
func (m modelFile) name() string { return filepath.Base(m.Path) }

// size returns the model file's size in bytes (0 when unknown).
func (m modelFile) size() int64 {
	if m.Builtin {
		return builtinmodel.Size()
	}
	fi, err := os.Stat(m.Path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// resolveModel turns a model reference given on the command line into a
// model file: an existing file wins; "" and the built-in model's name are
// the model built into the binary; otherwise it is a name in the local
// store (a short name such as deepseek-r1:1.5b, hf.co/ORG/REPO[:QUANT] or
// hf.co/ORG/REPO/FILE.gguf, as pulled), whose last use is recorded. For a
// split model the path is the first part, beside the others.
func resolveModel(ref string) (modelFile, error) {
	if ref == "" {
		return modelFile{Path: builtinmodel.Name, Builtin: true}, nil
	}
	if err := localOnly(ref); err != nil {
		return modelFile{}, err
	}
	fi, statErr := os.Stat(ref)
	if statErr == nil {
		if fi.IsDir() {
			return modelFile{}, fmt.Errorf("model %q is a directory, not a GGUF file", ref)
		}
		return modelFile{Path: ref}, nil
	}
	if ref == builtinmodel.Name {
		return modelFile{Path: builtinmodel.Name, Builtin: true}, nil
	}
	name := ref
	r, parseErr := hub.ParseRef(ref)
	if parseErr == nil {
		name = r.Name
	}
	path, err := resolveStored(name)
	if err == nil {
		return modelFile{Path: path}, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return modelFile{}, err
	}
	if parseErr == nil {
		return modelFile{}, fmt.Errorf("model %q is not in the store: run qilin pull %s", ref, ref)
	}
	if errors.Is(statErr, fs.ErrNotExist) {
		return modelFile{}, fmt.Errorf("model %q: no such file, nor a model of that name in the store (qilin list)", ref)
	}
	return modelFile{}, fmt.Errorf("model %q: %w", ref, statErr)
}

// resolveStored looks name up in the default store without creating it.
func resolveStored(name string) (string, error) {
	dir, err := store.DefaultDir()
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(dir); err != nil {
		return "", fmt.Errorf("model %q: %w", name, store.ErrNotFound)
	}
	s, err := store.Open(dir)
	if err != nil {
		return "", err
	}
	return s.Resolve(name)
}
