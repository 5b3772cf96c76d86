package main

import (
	"context"
	"io"

	"github.com/qilin-ai/qilin/watermark"
)

// watermarkSummary describes the watermark command group.
const watermarkSummary = "watermark generated text and test for it"

func init() {
	registerIn("watermark", watermarkSummary, &command{name: "keygen", summary: "make a watermarking key file", run: runWatermarkKeygen})
}

// runWatermarkKeygen prints a key file with fresh random keys. The file
// holds secrets: whoever has it can mark text as ours or strip the mark.
func runWatermarkKeygen(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("watermark keygen", "[--scheme gumbel|redgreen] [--context N] [--count N] > key.json", stderr)
	scheme := fs.String("scheme", string(watermark.Gumbel), "`SCHEME`: gumbel (distortion-free Gumbel-max) or redgreen (green-list bias)")
	width := fs.Int("context", watermark.DefaultContext, "context width: how many previous tokens seed each token's randomness")
	count := fs.Int("count", 1, "number of keys in the file (detect tries them all, correcting for how many)")
	id := fs.String("id", "", "key `ID` (default: a random wm-XXXXXXXXXXXX; only with --count 1)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError("unexpected arguments %q", pos)
	}
	switch {
	case *scheme != string(watermark.Gumbel) && *scheme != string(watermark.RedGreen):
		return usageError("--scheme %q: want gumbel or redgreen", *scheme)
	case *width < 1 || *width > watermark.MaxContext:
		return usageError("--context %d: want 1..%d", *width, watermark.MaxContext)
	case *count < 1 || *count > 1000:
		return usageError("--count %d: want 1..1000", *count)
	case *id != "" && *count != 1:
		return usageError("--id names one key; it cannot be used with --count %d", *count)
	}
	keys := make([]watermark.Key, *count)
	for i := range keys {
		k, err := watermark.NewKey(watermark.Scheme(*scheme), *width)
		if err != nil {
			return err
		}
		if *id != "" {
			k.ID = *id
			if err := k.Validate(); err != nil {
				return usageError("--id: %v", err)
			}
		}
		keys[i] = k
	}
	return watermark.WriteKeys(stdout, keys)
}
