package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/qilin-ai/qilin/tokenizer"
	"github.com/qilin-ai/qilin/watermark"
)

func init() {
	registerIn("watermark", watermarkSummary, &command{name: "detect", summary: "test a text for a key's watermark", run: runWatermarkDetect})
}

// maxDetectText bounds the text detect reads.
const maxDetectText = 64 << 20

func runWatermarkDetect(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("watermark detect", "--key-file F --model MODEL [--json] [FILE|-]", stderr)
	keyFile := fs.String("key-file", "", "key `FILE` (from qilin watermark keygen); every key in it is tried")
	model := fs.String("model", "", "`MODEL` (GGUF file or store name) whose tokenizer generated the text")
	asJSON := fs.Bool("json", false, `print {"key_id","scheme","tokens","scored","score","p_value","z","detected","threshold","spans"}`)
	threshold := fs.Float64("threshold", watermark.DefaultThreshold, "report a detection below this p-value")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	switch {
	case *keyFile == "":
		return usageError("--key-file is required")
	case *model == "":
		return usageError("--model is required (the text is retokenized with its tokenizer)")
	case len(pos) > 1:
		return usageError("want at most one FILE, have %d", len(pos))
	case !(*threshold > 0 && *threshold < 1):
		return usageError("--threshold %v: want 0 < p < 1", *threshold)
	}
	keys, err := watermark.LoadKeys(*keyFile)
	if err != nil {
		return err
	}
	text, err := readDetectText(pos)
	if err != nil {
		return err
	}
	tok, closeTok, err := openTokenizer(*model)
	if err != nil {
		return err
	}
	defer closeTok()
	ids, err := tok.Encode(text, false, false)
	if err != nil {
		return fmt.Errorf("tokenize: %w", err)
	}
	r := watermark.Detect(ids, keys, watermark.Options{Threshold: *threshold})
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetEscapeHTML(false)
		return enc.Encode(r)
	}
	return printDetection(stdout, r, len(keys))
}

// readDetectText reads FILE, or standard input for "-" or no argument.
func readDetectText(pos []string) (string, error) {
	in := io.Reader(os.Stdin)
	if len(pos) == 1 && pos[0] != "-" {
		f, err := os.Open(pos[0])
		if err != nil {
			return "", err
		}
		defer f.Close()
		in = f
	}
	b, err := io.ReadAll(io.LimitReader(in, maxDetectText+1))
	if err != nil {
		return "", err
	}
	if len(b) > maxDetectText {
		return "", fmt.Errorf("text longer than %d MiB", maxDetectText>>20)
	}
	return string(b), nil
}

// openTokenizer loads only the tokenizer of a model reference.
func openTokenizer(ref string) (*tokenizer.Tokenizer, func(), error) {
	mf, err := resolveModel(ref)
	if err != nil {
		return nil, nil, err
	}
	f, err := mf.open(false)
	if err != nil {
		return nil, nil, err
	}
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("%s: %w", mf.Path, err)
	}
	return tok, func() { f.Close() }, nil
}

func printDetection(w io.Writer, r watermark.Result, keys int) error {
	verdict := "no watermark found"
	if r.Detected {
		verdict = "WATERMARKED"
	}
	fmt.Fprintf(w, "%s: key %s (%s), p = %s (threshold %g", verdict, r.KeyID, r.Scheme, formatLogP(r.PValue, r.LogPValue), r.Threshold)
	if keys > 1 {
		fmt.Fprintf(w, "; best of %d keys, corrected", keys)
	}
	fmt.Fprintf(w, ")\n%d tokens, %d distinct (window, token) pairs scored, score %.2f, z %.2f\n", r.Tokens, r.Scored, r.Score, r.Z)
	for _, s := range r.Spans {
		fmt.Fprintf(w, "watermarked span: tokens [%d, %d), p = %.3g\n", s.Start, s.End, s.PValue)
	}
	return nil
}

// formatLogP writes a p-value, in powers of ten where float64 underflows.
func formatLogP(p, logp float64) string {
	if p >= 1e-300 {
		return fmt.Sprintf("%.3g", p)
	}
	return fmt.Sprintf("10^%.1f", logp/math.Ln10)
}
