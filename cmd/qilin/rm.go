package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/qilin-ai/qilin/internal/hub"
	"github.com/qilin-ai/qilin/store"
)

func init() {
	register(&command{
		name:    "rm",
		summary: "remove models from the local store",
		run:     runRm,
	})
}

func runRm(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("rm", "NAME ...", stderr)
	names, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(names) == 0 {
		return usageError("name the models to remove (qilin list shows them)")
	}
	s, err := store.OpenDefault()
	if err != nil {
		return err
	}
	var errs []error
	for _, name := range names {
		canonical := name
		if r, err := hub.ParseRef(name); err == nil {
			canonical = r.Name
		}
		err := s.Remove(ctx, canonical)
		switch {
		case errors.Is(err, store.ErrNotFound):
			errs = append(errs, fmt.Errorf("model %q is not in the store (qilin list shows what is)", name))
		case err != nil:
			errs = append(errs, err)
		default:
			fmt.Fprintf(stdout, "removed %s\n", canonical)
		}
	}
	return errors.Join(errs...)
}
