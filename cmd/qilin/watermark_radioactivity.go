package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/qilin-ai/qilin/engine"
	"github.com/qilin-ai/qilin/internal/termui"
	"github.com/qilin-ai/qilin/sample"
	"github.com/qilin-ai/qilin/tokenizer"
	"github.com/qilin-ai/qilin/watermark"
)

func init() {
	registerIn("watermark", watermarkSummary, &command{name: "radioactivity", summary: "test whether a model was trained on watermarked text", run: runWatermarkRadioactivity})
}

func runWatermarkRadioactivity(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("watermark radioactivity", "--key-file F --suspect MODEL [--data DIR] [--tokens N] [--json]", stderr)
	keyFile := fs.String("key-file", "", "key `FILE`; every key in it is tried")
	suspect := fs.String("suspect", "", "suspect `MODEL` (GGUF file or store name; it must share the marked text's tokenizer)")
	dataDir := fs.String("data", "", "`DIR` of our marked outputs (distill collect's *.jsonl): prompt the suspect with their prompts and score only windows that occur in them")
	budget := fs.Int("tokens", 20000, "tokens the suspect writes (more: a stronger test, slower)")
	maxLen := fs.Int("max-len", 256, "tokens per continuation")
	asJSON := fs.Bool("json", false, "print the result as one JSON object")
	threshold := fs.Float64("threshold", 1e-5, "report radioactivity below this p-value")
	seed := fs.Uint64("seed", 1, "seed of the suspect's sampling (temperature 1)")
	threads := fs.Int("threads", 0, "worker threads (0: all CPUs)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) > 0:
		return usageError("unexpected arguments %q", pos)
	case *keyFile == "":
		return usageError("--key-file is required")
	case *suspect == "":
		return usageError("--suspect is required")
	case strings.Contains(*suspect, "://"):
		return usageError("--suspect %s: a model behind an API (URL#MODEL) is not supported yet; give a local model", *suspect)
	case *budget < 1 || *maxLen < 1:
		return usageError("--tokens and --max-len must be positive")
	case !(*threshold > 0 && *threshold < 1):
		return usageError("--threshold %v: want 0 < p < 1", *threshold)
	}
	keys, err := watermark.LoadKeys(*keyFile)
	if err != nil {
		return err
	}
	lf := loadFlags{model: *suspect, threads: *threads}
	e, _, err := lf.load(stderr)
	if err != nil {
		return err
	}
	defer e.Close()
	r, in, err := testSuspect(ctx, e, keys, *dataDir, *budget, *maxLen, *seed, *threshold, stderr)
	if err != nil {
		return err
	}
	data := in.Data
	if *asJSON {
		return json.NewEncoder(stdout).Encode(r)
	}
	verdict := "no evidence of training on the watermarked text"
	if r.Radioactive {
		verdict = "RADIOACTIVE: the suspect prefers the key's tokens"
	}
	fmt.Fprintf(stdout, "%s\nkey %s (%s), p = %s (threshold %g", verdict, r.KeyID, r.Scheme, formatLogP(r.PValue, r.LogPValue), r.Threshold)
	if len(keys) > 1 {
		fmt.Fprintf(stdout, "; best of %d keys, corrected", len(keys))
	}
	fmt.Fprintf(stdout, ")\n%s mode: %d continuations, %d tokens, %d predictions", r.Mode, r.Texts, r.Tokens, r.Predictions)
	if data != nil {
		fmt.Fprint(stdout, " after windows of our data")
	}
	fmt.Fprintf(stdout, ", %d skipped (in the prompt), %d distinct pairs scored, score %.2f, z %.2f\n", r.Excluded, r.Scored, r.Score, r.Z)
	return nil
}

// testSuspect runs the radioactivity test of the loaded suspect e: it
// continues our prompts (from dataDir, else BOS) and its predictions are
// scored under keys.
func testSuspect(ctx context.Context, e *engine.Engine, keys []watermark.Key, dataDir string, budget, maxLen int, seed uint64, threshold float64, stderr io.Writer) (watermark.RadioResult, watermark.ReadingInput, error) {
	var prompts, data [][]int
	var err error
	if dataDir != "" {
		if prompts, data, err = readMarkedData(dataDir, e.Tok); err != nil {
			return watermark.RadioResult{}, watermark.ReadingInput{}, err
		}
	}
	if len(prompts) == 0 {
		p, err := e.Tok.Encode("", e.Tok.AddBOS(), false)
		if err != nil || len(p) == 0 {
			return watermark.RadioResult{}, watermark.ReadingInput{}, fmt.Errorf("the suspect has no BOS token to start from; give --data with prompts")
		}
		prompts = [][]int{p}
	}
	in, err := readSuspect(ctx, e, prompts, budget, maxLen, seed, stderr)
	if err != nil {
		return watermark.RadioResult{}, in, err
	}
	in.Data = data
	return watermark.Radioactive(in, keys, threshold), in, nil
}

// suspectEvidence is testSuspect for the report.
func suspectEvidence(ctx context.Context, e *engine.Engine, name string, keys []watermark.Key, dataDir string, budget int, seed uint64, threshold float64, stderr io.Writer) (watermark.SuspectEvidence, error) {
	r, in, err := testSuspect(ctx, e, keys, dataDir, budget, 256, seed, threshold, stderr)
	if err != nil {
		return watermark.SuspectEvidence{}, err
	}
	sc, _, _ := watermark.ScoreReading(in, keyByID(keys, r.KeyID))
	return watermark.SuspectEvidence{Name: filepath.Base(name), Data: dataDir, Result: r, Scores: sc}, nil
}

// readSuspect has the suspect continue the prompts in turn (temperature 1,
// no filters) until it has written budget tokens, and records its most
// likely token at every position of its continuations.
func readSuspect(ctx context.Context, e *engine.Engine, prompts [][]int, budget, maxLen int, seed uint64, stderr io.Writer) (watermark.ReadingInput, error) {
	var in watermark.ReadingInput
	bar := termui.NewCountBar(stderr, "suspect writing", int64(budget), "tokens")
	defer bar.Finish()
	written := 0
	seq := e.NewSequence()
	for i := 0; written < budget; i++ {
		if err := ctx.Err(); err != nil {
			return in, err
		}
		prompt := prompts[i%len(prompts)]
		if len(prompt) >= e.Context() {
			continue
		}
		seq.Reset(0)
		sampler := sample.New(sample.Params{Temperature: 1, Seed: seed + uint64(i)})
		text := append([]int(nil), prompt...)
		preds := make([]int, len(prompt), len(prompt)+maxLen)
		for j := range preds {
			preds[j] = -1
		}
		var logits []float32
		next := prompt
		for n := 0; n < maxLen && written < budget && len(text) < e.Context(); n++ {
			if err := seq.Eval(next, false, func(_ int, l []float32) { logits = l }); err != nil {
				return in, err
			}
			preds = append(preds, argmaxLogit(logits))
			tok := sampler.Sample(logits, nil)
			if e.Tok.IsEOG(tok) {
				preds = preds[:len(preds)-1]
				break
			}
			text = append(text, tok)
			next = []int{tok}
			written++
			bar.Set(int64(written))
		}
		if i >= len(prompts) && len(text) == len(prompt) && written == 0 {
			return in, fmt.Errorf("the suspect writes nothing after its prompts (an end-of-generation token at once)")
		}
		in.Texts = append(in.Texts, text)
		in.Preds = append(in.Preds, preds)
		in.Start = append(in.Start, len(prompt))
	}
	return in, nil
}

func argmaxLogit(l []float32) int {
	best := 0
	for i, x := range l {
		if x > l[best] {
			best = i
		}
	}
	return best
}

// readMarkedData reads our marked outputs from the *.jsonl files of dir,
// as distill collect writes them (one record a line, with "messages": the
// last user message is the prompt, the assistant's reasoning_content and
// content the marked output), or lines with a "text" field. It returns the
// prompts (BOS added where the tokenizer asks for it) and the outputs as
// token ids.
func readMarkedData(dir string, tok *tokenizer.Tokenizer) (prompts, outputs [][]int, err error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	if err != nil {
		return nil, nil, err
	}
	if len(files) == 0 {
		return nil, nil, fmt.Errorf("--data %s: no *.jsonl files", dir)
	}
	seenPrompt := map[string]bool{}
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			return nil, nil, err
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 0, 1<<16), 64<<20)
		line := 0
		for sc.Scan() {
			line++
			var rec struct {
				Text     *string `json:"text"`
				Messages []struct {
					Role             string  `json:"role"`
					Content          string  `json:"content"`
					ReasoningContent *string `json:"reasoning_content"`
				} `json:"messages"`
			}
			if len(strings.TrimSpace(sc.Text())) == 0 {
				continue
			}
			if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
				f.Close()
				return nil, nil, fmt.Errorf("%s:%d: %v", name, line, err)
			}
			var prompt, out string
			if rec.Text != nil {
				out = *rec.Text
			}
			for _, m := range rec.Messages {
				switch m.Role {
				case "user":
					prompt = m.Content
				case "assistant":
					if m.ReasoningContent != nil {
						out += *m.ReasoningContent + "\n"
					}
					out += m.Content
				}
			}
			if out != "" {
				ids, err := tok.Encode(out, false, false)
				if err != nil {
					f.Close()
					return nil, nil, fmt.Errorf("%s:%d: %v", name, line, err)
				}
				outputs = append(outputs, ids)
			}
			if prompt != "" && !seenPrompt[prompt] {
				seenPrompt[prompt] = true
				ids, err := tok.Encode(prompt, tok.AddBOS(), false)
				if err != nil {
					f.Close()
					return nil, nil, fmt.Errorf("%s:%d: %v", name, line, err)
				}
				prompts = append(prompts, ids)
			}
		}
		err = sc.Err()
		f.Close()
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %v", name, err)
		}
	}
	if len(outputs) == 0 {
		return nil, nil, fmt.Errorf("--data %s: no outputs (records with assistant messages or text)", dir)
	}
	return prompts, outputs, nil
}
