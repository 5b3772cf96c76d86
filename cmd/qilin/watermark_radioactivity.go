package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"path/filepath"

	"github.com/qilin-ai/qilin/engine"
	"github.com/qilin-ai/qilin/internal/termui"
	"github.com/qilin-ai/qilin/sample"
	"github.com/qilin-ai/qilin/watermark"
)

func init() {
	registerIn("watermark", watermarkSummary, &command{name: "radioactivity", summary: "test whether a model was trained on watermarked text", run: runWatermarkRadioactivity})
}

func runWatermarkRadioactivity(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("watermark radioactivity", "--key-file F --suspect MODEL [--data DIR] [--tokens N] [--json]", stderr)
	keyFile := fs.String("key-file", "", "key `FILE`; every key in it is tried")
	suspect := fs.String("suspect", "", "suspect `MODEL`: a GGUF file or store name sharing the marked text's tokenizer (its predictions are read), or a model behind an API, URL#MODEL or PROVIDER:MODEL (its answers are detected; needs --model)")
	model := fs.String("model", "", "closed-model suspects: `MODEL` whose tokenizer wrote the marked text (the answers are retokenized with it)")
	keyEnv := fs.String("api-key-env", "", "closed-model suspects: read the API key from environment variable `VAR` (default: the provider's)")
	dataDir := fs.String("data", "", "`DIR` of our marked outputs (distill collect's *.jsonl), the supervised test: a local suspect reads them and its predictions are scored; one behind an API answers their prompts, and only windows that occur in them are scored")
	budget := fs.Int("tokens", 20000, "tokens the suspect reads of --data, or writes (more: a stronger test, slower)")
	maxLen := fs.Int("max-len", 256, "tokens per continuation the suspect writes")
	asJSON := fs.Bool("json", false, "print the result as one JSON object")
	threshold := fs.Float64("threshold", 1e-5, "report radioactivity below this p-value")
	seed := fs.Uint64("seed", 1, "seed of the suspect's sampling (temperature 1)")
	threads := new(int)
	threadsFlag(fs, threads)
	weighted := fs.Bool("weighted", false, "with --data and a local suspect: score the suspect's 16 most likely tokens at each position, weighted by their probabilities, rather than its most likely one (stronger where a student's preferences moved but its first choice did not; the p-value is Chernoff's bound, slightly conservative)")
	reference := fs.String("reference", "", "with --data and a local suspect: a reference `MODEL` not trained on our outputs (such as the model a student started from), with the suspect's tokenizer; only predictions the suspect makes at least twice as likely as the reference are scored")
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
	case *budget < 1 || *maxLen < 1:
		return usageError("--tokens and --max-len must be positive")
	case !(*threshold > 0 && *threshold < 1):
		return usageError("--threshold %v: want 0 < p < 1", *threshold)
	case *weighted && *reference != "":
		return usageError("--weighted and --reference do not go together")
	case *weighted && *dataDir == "":
		return usageError("--weighted needs --data (the suspect reads our marked outputs)")
	case *reference != "" && *dataDir == "":
		return usageError("--reference needs --data (the reference reads our marked outputs with the suspect)")
	}
	keys, err := watermark.LoadKeys(*keyFile)
	if err != nil {
		return err
	}
	target, err := resolveTarget(*suspect)
	if err != nil {
		return err
	}
	var r watermark.RadioResult
	var in watermark.ReadingInput
	if target.endpoint != nil && *reference != "" {
		return usageError("--reference needs a local suspect")
	}
	if target.endpoint != nil {
		if *model == "" {
			return usageError("--suspect %s is behind an API: give --model, whose tokenizer wrote the marked text", *suspect)
		}
		r, in, err = testRemoteSuspect(ctx, *target.endpoint, *keyEnv, *model, keys, *dataDir, *budget, *maxLen, *seed, *threshold, stderr)
	} else {
		lf := loadFlags{model: *suspect, threads: *threads}
		e, _, lerr := lf.load(stderr)
		if lerr != nil {
			return lerr
		}
		defer e.Close()
		var ref *engine.Engine
		if *reference != "" {
			lf := loadFlags{model: *reference, threads: *threads}
			if ref, _, err = lf.load(stderr); err != nil {
				return err
			}
			defer ref.Close()
			if ref.Model.NVocab != e.Model.NVocab {
				return fmt.Errorf("--reference %s has %d tokens, the suspect %d: they must share a tokenizer", *reference, ref.Model.NVocab, e.Model.NVocab)
			}
		}
		r, in, err = testSuspect(ctx, e, ref, keys, *dataDir, *weighted, *budget, *maxLen, *seed, *threshold, stderr)
	}
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
	what, texts, skipped := "predictions", "continuations", "in the prompt"
	if r.Mode == "generation" {
		what = "tokens scored for"
	}
	if in.Ours {
		texts, skipped = "of our marked outputs read", "window read before"
	}
	fmt.Fprintf(stdout, ")\n%s mode: %d %s, %d tokens, %d %s", r.Mode, r.Texts, texts, r.Tokens, r.Predictions, what)
	if data != nil && !in.Ours {
		fmt.Fprint(stdout, " after windows of our data")
	}
	fmt.Fprintf(stdout, ", %d skipped (%s), %d distinct pairs scored, score %.2f, z %.2f\n", r.Excluded, skipped, r.Scored, r.Score, r.Z)
	return nil
}

// testSuspect runs the radioactivity test of the loaded suspect e. With
// dataDir it reads our marked outputs there through the suspect (the
// supervised reading test, up to budget tokens of them); without, the
// suspect continues its BOS and its predictions along its own text are
// scored.
func testSuspect(ctx context.Context, e, ref *engine.Engine, keys []watermark.Key, dataDir string, weighted bool, budget, maxLen int, seed uint64, threshold float64, stderr io.Writer) (watermark.RadioResult, watermark.ReadingInput, error) {
	var in watermark.ReadingInput
	var err error
	if dataDir != "" {
		texts, starts, generated, rerr := readMarkedData(dataDir, e)
		if rerr != nil {
			return watermark.RadioResult{}, in, rerr
		}
		if generated < len(texts) {
			fmt.Fprintf(stderr, "note: %d of %d outputs retokenized (the rest read as the teacher generated them): collect with --top-logprobs 1 to keep the generated tokens; the first-read rule is exact only on those\n", len(texts)-generated, len(texts))
		}
		var logps [][]float64
		if in, logps, err = readOurs(ctx, e, texts, starts, budget, weighted, stderr); err == nil && ref != nil {
			err = keepLearned(ctx, ref, in, logps, stderr)
		}
	} else {
		p, perr := e.Tok.Encode("", e.Tok.AddBOS(), false)
		if perr != nil || len(p) == 0 {
			return watermark.RadioResult{}, in, fmt.Errorf("the suspect has no BOS token to start from; give --data with our marked outputs")
		}
		in, err = readSuspect(ctx, e, [][]int{p}, budget, maxLen, seed, stderr)
	}
	if err != nil {
		return watermark.RadioResult{}, in, err
	}
	return watermark.Radioactive(in, keys, threshold), in, nil
}

// readOurs reads our marked texts (prompt and output, texts[i][:starts[i]]
// the prompt) through the suspect, in order, until budget tokens of
// output have been read, and records its most likely next token at every
// position (watermark.ReadingInput.Ours), and that token's log-probability.
func readOurs(ctx context.Context, e *engine.Engine, texts [][]int, starts []int, budget int, weighted bool, stderr io.Writer) (watermark.ReadingInput, [][]float64, error) {
	in := watermark.ReadingInput{Ours: true}
	var logps [][]float64
	bar := termui.NewCountBar(stderr, "suspect reading", int64(budget), "tokens")
	defer bar.Finish()
	seq := e.NewSequence()
	read := 0
	for i, text := range texts {
		if read >= budget {
			break
		}
		if err := ctx.Err(); err != nil {
			return in, nil, err
		}
		text = text[:min(len(text), e.Context(), starts[i]+budget-read)]
		if len(text) <= starts[i] {
			continue
		}
		preds := make([]int, len(text)) // preds[j]: the suspect's choice after text[:j]
		lp := make([]float64, len(text))
		var cands [][]watermark.Cand
		if weighted {
			cands = make([][]watermark.Cand, len(text))
		}
		preds[0] = -1
		seq.Reset(0)
		if err := seq.Eval(text[:len(text)-1], true, func(j int, l []float32) {
			preds[j+1] = argmaxLogit(l)
			lp[j+1] = logProb(l, preds[j+1])
			if weighted {
				cands[j+1] = topCands(l, weightedCands)
			}
		}); err != nil {
			return in, nil, err
		}
		if weighted {
			in.Cands = append(in.Cands, cands)
		}
		in.Texts = append(in.Texts, text)
		in.Start = append(in.Start, starts[i])
		in.Preds = append(in.Preds, preds)
		in.Data = append(in.Data, text[starts[i]:])
		logps = append(logps, lp)
		read += len(text) - starts[i]
		bar.Set(int64(read))
	}
	if len(in.Texts) == 0 {
		return in, nil, fmt.Errorf("no marked output fits the suspect's context")
	}
	return in, logps, nil
}

// keepLearned reads in's texts through the reference ref and keeps (in
// in.Preds) only the suspect's predictions that it makes at least twice as
// likely as ref does (suspect's log-probabilities in logps): where a
// student departs from the model it started from is where it learned from
// its data. The choice depends on the texts' prefixes alone, not on the
// key, so the test stays exact.
func keepLearned(ctx context.Context, ref *engine.Engine, in watermark.ReadingInput, logps [][]float64, stderr io.Writer) error {
	bar := termui.NewCountBar(stderr, "reference reading", int64(len(in.Texts)), "texts")
	defer bar.Finish()
	seq := ref.NewSequence()
	for i, text := range in.Texts {
		if err := ctx.Err(); err != nil {
			return err
		}
		preds := in.Preds[i]
		seq.Reset(0)
		if err := seq.Eval(text[:len(text)-1], true, func(j int, l []float32) {
			if p := preds[j+1]; p >= 0 && logps[i][j+1]-logProb(l, p) < math.Ln2 {
				preds[j+1] = -1
			}
		}); err != nil {
			return err
		}
		bar.Set(int64(i + 1))
	}
	return nil
}

// weightedCands is how many of the suspect's candidates the weighted test
// scores at each position.
const weightedCands = 16

// topCands returns the n most likely tokens of logits l with their
// probabilities.
func topCands(l []float32, n int) []watermark.Cand {
	lse := logSumExp(l)
	top := make([]watermark.Cand, 0, n+1)
	for id, x := range l {
		p := math.Exp(float64(x) - lse)
		if len(top) == n && p <= top[n-1].P {
			continue
		}
		i := len(top)
		if len(top) < n {
			top = append(top, watermark.Cand{})
		} else {
			i = n - 1
		}
		for ; i > 0 && top[i-1].P < p; i-- {
			top[i] = top[i-1]
		}
		top[i] = watermark.Cand{ID: id, P: p}
	}
	return top
}

// logProb returns log softmax(l)[id].
func logProb(l []float32, id int) float64 { return float64(l[id]) - logSumExp(l) }

// logSumExp returns ln Σ e^l.
func logSumExp(l []float32) float64 {
	m := l[0]
	for _, x := range l {
		m = max(m, x)
	}
	var sum float64
	for _, x := range l {
		sum += math.Exp(float64(x - m))
	}
	return float64(m) + math.Log(sum)
}

// suspectEvidence is testSuspect for the report.
func suspectEvidence(ctx context.Context, e *engine.Engine, name string, keys []watermark.Key, dataDir string, budget int, seed uint64, threshold float64, stderr io.Writer) (watermark.SuspectEvidence, error) {
	r, in, err := testSuspect(ctx, e, nil, keys, dataDir, false, budget, 256, seed, threshold, stderr)
	if err != nil {
		return watermark.SuspectEvidence{}, err
	}
	sc, _, _ := watermark.ScoreReading(in, keyByID(keys, r.KeyID))
	return watermark.SuspectEvidence{Name: filepath.Base(name), Data: dataDir, Ours: in.Ours, Result: r, Scores: sc}, nil
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
