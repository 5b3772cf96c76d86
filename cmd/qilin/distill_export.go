package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/qilin-ai/qilin/distill"
)

func init() {
	registerIn("distill", distillSummary, &command{name: "export",
		summary: "write a collected dataset as TRL messages, ShareGPT or think-inline JSONL", run: runDistillExport})
}

func runDistillExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("distill export", "DIR --format messages|sharegpt|think-inline [--out FILE]", stderr)
	format := fs.String("format", distill.FormatMessages, "`FORMAT`: "+strings.Join(distill.Formats, ", "))
	out := fs.String("out", "", "output `FILE` (default: standard output)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError("name one dataset directory (what qilin distill collect --out wrote)")
	}
	dir := pos[0]
	if *out == "" || *out == "-" {
		w := bufio.NewWriter(stdout)
		n, err := distill.Export(dir, *format, w)
		if err != nil {
			return err
		}
		if err := w.Flush(); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "qilin distill export: %d records\n", n)
		return nil
	}
	// Write beside the target and rename, so that an interrupted export
	// never leaves a partial file under the final name.
	tmp, err := os.CreateTemp(filepath.Dir(*out), ".export-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	w := bufio.NewWriter(tmp)
	n, err := distill.Export(dir, *format, w)
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), *out); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %d records to %s (%s)\n", n, *out, *format)
	return nil
}
