package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/qilin-ai/qilin/internal/hub"
	"github.com/qilin-ai/qilin/internal/termui"
	"github.com/qilin-ai/qilin/store"
)

func init() {
	register(&command{
		name:    "pull",
		summary: "download a model from Hugging Face into the local store",
		run:     runPull,
	})
}

func runPull(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("pull", "[--quiet] hf.co/ORG/REPO[:QUANT] | hf.co/ORG/REPO/FILE.gguf | SHORT-NAME ...", stderr)
	quiet := fs.Bool("quiet", false, "no progress display")
	refs, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(refs) == 0 {
		fs.Usage()
		return usageError("name a model to pull (qilin list --available shows short names)")
	}
	s, err := store.OpenDefault()
	if err != nil {
		return err
	}
	opts := hub.PullOptions{Logf: func(format string, a ...any) { fmt.Fprintf(stderr, format+"\n", a...) }}
	if !*quiet {
		opts.Meter = func(file string, size int64) hub.Meter { return termui.NewBar(stderr, file, size) }
	}
	c := hub.NewFromEnv()
	c.OnRetry = func(try, retries int, wait time.Duration, err error) {
		fmt.Fprintf(stderr, "%v\n  retry %d of %d in %v\n", err, try, retries, wait.Round(100*time.Millisecond))
	}
	for _, ref := range refs {
		m, err := hub.Pull(ctx, c, s, ref, opts)
		if errors.Is(err, context.Canceled) {
			return fmt.Errorf("pull of %s interrupted; run the same command to resume", ref)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "pulled %s (%s, %s, %s)\n", m.Name, termui.Bytes(m.Size), orUnknown(m.Quant), orUnknown(m.Arch))
	}
	return nil
}

func orUnknown(s string) string {
	if s == "" {
		return "?"
	}
	return s
}
