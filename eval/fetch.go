package eval

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/qilin-ai/qilin/internal/hub"
	"github.com/qilin-ai/qilin/store"
)

// Source fetches the data of built-in tasks from the Hub, caching each
// file in the store under a manifest of its own ("hf.co/datasets/ORG/NAME/
// PATH"), so that a second run, also offline, reads it from there.
type Source struct {
	Client *hub.Client
	Store  *store.Store
	// Opts shows downloads and notes.
	Opts hub.PullOptions
}

// cacheName is the store name of a dataset file.
func cacheName(repo, revision, file string) string {
	n := "hf.co/" + repo + "/" + file
	if revision != "" && revision != "main" {
		n += "@" + revision
	}
	return n
}

// Fetch returns the bytes of file of repo at revision: from the store
// when it holds them, else from the Hub (resumable, SHA-256 checked).
func (s *Source) Fetch(ctx context.Context, repo, revision, file string) ([]byte, error) {
	name := cacheName(repo, revision, file)
	if m, err := s.Store.Get(name); err == nil {
		if paths, err := s.Store.Parts(m.Name); err == nil {
			return os.ReadFile(paths[0])
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	if s.Client.Offline {
		return nil, fmt.Errorf("eval: %s is not in the store: %w", name, hub.ErrOffline)
	}
	files, err := s.Client.ListFiles(ctx, repo, revision)
	if err != nil {
		return nil, err
	}
	var f *hub.File
	for i := range files {
		if files[i].Path == file {
			f = &files[i]
		}
	}
	if f == nil {
		return nil, fmt.Errorf("eval: hf.co/%s has no file %s", repo, file)
	}
	b, err := hub.FetchFile(ctx, s.Client, s.Store, repo, revision, *f, s.Opts)
	if err != nil {
		return nil, err
	}
	m := &store.Manifest{Name: name, Source: "hf.co/" + repo, Files: []store.Blob{b}, Size: b.Size, PulledAt: time.Now().UTC()}
	if err := s.Store.Put(ctx, m); err != nil {
		return nil, err
	}
	paths, err := s.Store.Parts(name)
	if err != nil {
		return nil, err
	}
	return os.ReadFile(paths[0])
}

// Load returns the task spec names: a built-in task ("gsm8k", "math500",
// "mmlu", "perplexity"), a custom task ("PATH.jsonl"), or perplexity on a
// text file ("perplexity:PATH"). src fetches built-in tasks' data; it may
// be nil when none is asked for.
func Load(ctx context.Context, spec string, src *Source) (*Task, error) {
	switch {
	case strings.HasSuffix(spec, ".jsonl"):
		return LoadCustom(spec)
	case strings.HasPrefix(spec, "perplexity:"):
		path := strings.TrimPrefix(spec, "perplexity:")
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("eval: task %s: %w", spec, err)
		}
		return &Task{Name: spec, Kind: Perplexity, Text: string(data), Source: path}, nil
	}
	b, ok := Builtins[spec]
	if !ok {
		return nil, fmt.Errorf("eval: unknown task %q (want gsm8k, math500, mmlu, perplexity, perplexity:FILE or FILE.jsonl)", spec)
	}
	if src == nil {
		return nil, fmt.Errorf("eval: task %s: no source for its data", spec)
	}
	data, err := src.Fetch(ctx, b.Repo, b.Revision, b.File)
	if err != nil {
		return nil, fmt.Errorf("eval: task %s: %w", spec, err)
	}
	t := &Task{Name: b.Name, Kind: b.Kind, Source: "hf.co/" + b.Repo + "/" + b.File}
	if err := b.read(data, t); err != nil {
		return nil, fmt.Errorf("eval: task %s (%s): %w", spec, t.Source, err)
	}
	if t.Kind == Generate && len(t.Items) == 0 {
		return nil, fmt.Errorf("eval: task %s (%s): no items", spec, t.Source)
	}
	return t, nil
}
