package main

import (
	"fmt"
	"os"
)

// resolveModel turns a model reference given on the command line (a file
// path, or later a name in the local store) into a path to a GGUF file.
func resolveModel(ref string) (string, error) {
	if ref == "" {
		return "", usageError("no model given (use --model FILE)")
	}
	if _, err := os.Stat(ref); err != nil {
		return "", fmt.Errorf("model %q: %w", ref, err)
	}
	return ref, nil
}
