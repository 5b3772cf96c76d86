package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/qilin-ai/qilin/internal/hub"
	"github.com/qilin-ai/qilin/store"
)

// resolveModel turns a model reference given on the command line into a
// path to a GGUF file: an existing file wins; otherwise it is a name in the
// local store (a short name such as deepseek-r1:1.5b, hf.co/ORG/REPO[:QUANT]
// or hf.co/ORG/REPO/FILE.gguf, as pulled), whose last use is recorded. For
// a split model the path is the first part, beside the others.
func resolveModel(ref string) (string, error) {
	if ref == "" {
		return "", usageError("no model given (use --model FILE or a name from qilin list)")
	}
	if err := localOnly(ref); err != nil {
		return "", err
	}
	fi, statErr := os.Stat(ref)
	if statErr == nil {
		if fi.IsDir() {
			return "", fmt.Errorf("model %q is a directory, not a GGUF file", ref)
		}
		return ref, nil
	}
	name := ref
	r, parseErr := hub.ParseRef(ref)
	if parseErr == nil {
		name = r.Name
	}
	path, err := resolveStored(name)
	if err == nil {
		return path, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return "", err
	}
	if parseErr == nil {
		return "", fmt.Errorf("model %q is not in the store: run qilin pull %s", ref, ref)
	}
	if errors.Is(statErr, fs.ErrNotExist) {
		return "", fmt.Errorf("model %q: no such file, nor a model of that name in the store (qilin list)", ref)
	}
	return "", fmt.Errorf("model %q: %w", ref, statErr)
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
