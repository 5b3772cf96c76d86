package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/qilin-ai/qilin/quantize"
	"github.com/qilin-ai/qilin/synth"
)

func init() {
	register(&command{
		name:    "synth",
		summary: "write a random-weight model with the exact shape of a released one",
		run:     runSynth,
	})
}

func runSynth(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("synth", "NAME OUT.gguf [--quant TYPE] [--seed N]\n\nshapes: "+strings.Join(synth.Names(), ", "), stderr)
	qt := fs.String("quant", "Q4_K_M", "quantization `TYPE`: "+strings.Join(quantize.FileTypeNames(), ", "))
	seed := fs.Uint64("seed", 1, "random `SEED` of the weights")
	threads := new(int)
	threadsFlag(fs, threads)
	list := fs.Bool("list", false, "list the known shapes and exit")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if *list {
		for _, s := range synth.Shapes() {
			fmt.Fprintf(stdout, "%-30s %-9s %8.2fB params  %s\n", s.Name, s.Arch, float64(s.Params())/1e9, s.Source)
		}
		return nil
	}
	if err := checkThreads(*threads); err != nil {
		return err
	}
	if len(pos) != 2 {
		return usageError("need a shape NAME and an OUT.gguf path (known shapes: %s)", strings.Join(synth.Names(), ", "))
	}
	shape, err := synth.Lookup(pos[0])
	if err != nil {
		return usageError("%v", err)
	}
	ft, err := quantize.ParseFileType(*qt)
	if err != nil {
		return usageError("%v", err)
	}
	start := time.Now()
	if err := synth.Write(pos[1], shape, synth.Options{Type: ft, Seed: *seed, Threads: *threads}); err != nil {
		return err
	}
	fi, err := os.Stat(pos[1])
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: %s %s, %.1f MiB, %d parameters, in %v\n", pos[1], shape.Name, ft,
		float64(fi.Size())/(1<<20), shape.Params(), time.Since(start).Round(time.Millisecond))
	return nil
}
