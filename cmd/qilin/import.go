package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/qilin-ai/qilin/gguf"
	"github.com/qilin-ai/qilin/internal/builtinmodel"
	"github.com/qilin-ai/qilin/internal/hub"
	"github.com/qilin-ai/qilin/internal/termui"
	"github.com/qilin-ai/qilin/store"
)

func init() {
	register(&command{
		name:    "import",
		summary: "copy a local GGUF file into the store under a name",
		run:     runImport,
	})
}

// splitSuffix is llama.cpp's split-part suffix, dropped from default names.
var splitSuffix = regexp.MustCompile(`-\d{5}-of-\d{5}$`)

func runImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("import", "[--quiet] FILE.gguf [NAME]", stderr)
	quiet := fs.Bool("quiet", false, "no progress display")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) < 1 || len(pos) > 2 {
		return usageError("want FILE.gguf and optionally a NAME, have %d arguments", len(pos))
	}
	path := pos[0]
	name := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	name = splitSuffix.ReplaceAllString(name, "")
	if len(pos) == 2 {
		name = pos[1]
	}
	if r, err := hub.ParseRef(name); err == nil {
		name = r.Name // the spelling qilin run NAME looks up
	}
	if strings.EqualFold(name, builtinmodel.Name) {
		return usageError("%q is the built-in model's name; choose another", name)
	}
	// Check that it is a readable GGUF model (all parts of a split one).
	f, err := gguf.Open(path)
	if err != nil {
		return err
	}
	m := &store.Manifest{Name: name, Arch: f.Arch(), Quant: hub.QuantOf(path)}
	count := int(f.Uint(gguf.KeySplitCount, 1))
	f.Close()
	paths, err := gguf.PartPaths(path, count)
	if err != nil {
		return err
	}
	s, err := store.OpenDefault()
	if err != nil {
		return err
	}
	var opts store.ImportOptions
	if !*quiet {
		opts.Progress = func(file string, size int64) func(int64) {
			bar := termui.NewBar(stderr, file, size)
			return func(done int64) {
				bar.Set(done)
				if done >= size {
					bar.Finish()
				}
			}
		}
	}
	if err := s.Import(ctx, m, paths, opts); err != nil {
		if errors.Is(err, context.Canceled) {
			return fmt.Errorf("import of %s interrupted; nothing was recorded", path)
		}
		return err
	}
	fmt.Fprintf(stdout, "imported %s as %s (%s, %s, %s)\n", path, m.Name, termui.Bytes(m.Size), orUnknown(m.Quant), orUnknown(m.Arch))
	return nil
}
