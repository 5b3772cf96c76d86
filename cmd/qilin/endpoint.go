package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/qilin-ai/qilin/remote"
)

// modelTarget is a model argument of a command that can use endpoints: a
// local GGUF file (path, resolved from a file name or a store name) or an
// endpoint.
type modelTarget struct {
	ref      string    // as given
	file     modelFile // the GGUF file, for a local model
	endpoint *remote.Endpoint
}

// resolveTarget resolves a model argument that may name an endpoint: an
// existing file wins, then URL#MODEL and PROVIDER:MODEL (remote.Providers),
// then a name in the store.
func resolveTarget(ref string) (modelTarget, error) {
	if ref != "" && !isFile(ref) && remote.IsEndpoint(ref) {
		ep, err := remote.ParseEndpoint(ref)
		if err != nil {
			return modelTarget{}, usageError("%v", err)
		}
		return modelTarget{ref: ref, endpoint: &ep}, nil
	}
	file, err := resolveModel(ref)
	if err != nil {
		return modelTarget{}, err
	}
	return modelTarget{ref: ref, file: file}, nil
}

// localOnly is the error of a command that runs a model itself when its
// model argument names an endpoint; nil otherwise.
func localOnly(ref string) error {
	if ref == "" || isFile(ref) || !remote.IsEndpoint(ref) {
		return nil
	}
	return fmt.Errorf("model %q is a remote endpoint: this command needs a local GGUF file or a store name (endpoints serve as teachers: qilin distill collect --teacher %s)", ref, ref)
}

func isFile(ref string) bool {
	_, err := os.Stat(ref)
	return err == nil
}

// teacherName is how a dataset names a local model: its absolute path for
// a file, the store name as given otherwise.
func teacherName(t modelTarget) string {
	if isFile(t.ref) {
		if abs, err := filepath.Abs(t.ref); err == nil {
			return abs
		}
	}
	return t.ref
}
