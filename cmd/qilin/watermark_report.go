package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/qilin-ai/qilin/watermark"
)

func init() {
	registerIn("watermark", watermarkSummary, &command{name: "report", summary: "write an evidence report (HTML) of detections and radioactivity tests", run: runWatermarkReport})
}

// listFlag collects a repeated flag's values.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

func runWatermarkReport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("watermark report", "--key-file F [--text FILE --model MODEL]... [--suspect MODEL [--data DIR]]... --out report.html", stderr)
	keyFile := fs.String("key-file", "", "key `FILE`; every key in it is tried")
	var texts, suspects listFlag
	fs.Var(&texts, "text", "text `FILE` to test for the watermark (repeatable)")
	model := fs.String("model", "", "`MODEL` whose tokenizer generated the texts")
	fs.Var(&suspects, "suspect", "suspect `MODEL` to test for radioactivity (repeatable)")
	dataDir := fs.String("data", "", "`DIR` of our marked outputs for the radioactivity tests (see qilin watermark radioactivity)")
	budget := fs.Int("tokens", 20000, "tokens each suspect reads of --data, or writes")
	threshold := fs.Float64("threshold", watermark.DefaultThreshold, "p-value below which a text or suspect counts as marked")
	out := fs.String("out", "", "write the report to `FILE` (HTML)")
	title := fs.String("title", "Watermark evidence report", "report title")
	seed := fs.Uint64("seed", 1, "seed of the suspects' sampling")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) > 0:
		return usageError("unexpected arguments %q", pos)
	case *keyFile == "" || *out == "":
		return usageError("--key-file and --out are required")
	case len(texts) == 0 && len(suspects) == 0:
		return usageError("nothing to report: give --text FILE or --suspect MODEL")
	case len(texts) > 0 && *model == "":
		return usageError("--text needs --model (the texts are retokenized with its tokenizer)")
	case !(*threshold > 0 && *threshold < 1):
		return usageError("--threshold %v: want 0 < p < 1", *threshold)
	case *budget < 1:
		return usageError("--tokens must be positive")
	}
	keys, err := watermark.LoadKeys(*keyFile)
	if err != nil {
		return err
	}
	rep := &watermark.Report{Title: *title, Created: time.Now(), Keys: keys, Threshold: *threshold,
		Command: "qilin watermark report " + strings.Join(args, " ")}
	if len(texts) > 0 {
		tok, closeTok, err := openTokenizer(*model)
		if err != nil {
			return err
		}
		defer closeTok()
		rep.Model = *model
		for _, name := range texts {
			text, err := readDetectText([]string{name})
			if err != nil {
				return err
			}
			ids, err := tok.Encode(text, false, false)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			r := watermark.Detect(ids, keys, watermark.Options{Threshold: *threshold})
			rep.Texts = append(rep.Texts, watermark.TextEvidence{
				Name: filepath.Base(name), Excerpt: excerpt(text, 400), Result: r, Scores: watermark.ScoreText(ids, keyByID(keys, r.KeyID)),
			})
		}
	}
	for _, s := range suspects {
		lf := loadFlags{model: s}
		e, _, err := lf.load(stderr)
		if err != nil {
			return err
		}
		ev, err := suspectEvidence(ctx, e, s, keys, *dataDir, *budget, *seed, *threshold, stderr)
		e.Close()
		if err != nil {
			return fmt.Errorf("suspect %s: %w", s, err)
		}
		rep.Suspects = append(rep.Suspects, ev)
	}
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	if err := rep.WriteHTML(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s\n", *out)
	return nil
}

func keyByID(keys []watermark.Key, id string) watermark.Key {
	for _, k := range keys {
		if k.ID == id {
			return k
		}
	}
	return keys[0]
}

// excerpt returns the first n bytes of text, cut at a character boundary.
func excerpt(text string, n int) string {
	if len(text) <= n {
		return text
	}
	for n > 0 && !utf8RuneStart(text[n]) {
		n--
	}
	return text[:n] + "…"
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }
