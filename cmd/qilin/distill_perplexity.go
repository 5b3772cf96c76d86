package main

import (
	"context"
	"fmt"
	"io"
	"math"

	"github.com/qilin-ai/qilin/gguf"
	"github.com/qilin-ai/qilin/internal/logitcmp"
	"github.com/qilin-ai/qilin/kernels"
	"github.com/qilin-ai/qilin/model"
	"github.com/qilin-ai/qilin/train"
)

func init() {
	registerIn("distill", distillSummary, &command{
		name:    "perplexity",
		summary: "perplexity of a model on the answers a training run held out",
		run:     runDistillPerplexity,
	})
}

func runDistillPerplexity(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("distill perplexity", "--model MODEL --data DIR [--val-split 0.05] [--seed S] [--seq-len L]\n\n"+
		"Evaluates MODEL as qilin runs it on the validation split that qilin distill train\n"+
		"makes with the same --val-split and --seed: the mean cross-entropy of the answers'\n"+
		"tokens (reasoning included) given their prompts, and its exponential.", stderr)
	ref := fs.String("model", "", "the model to evaluate (GGUF file or store name)")
	data := fs.String("data", "", "the dataset (a collect folder or a JSONL file)")
	valSplit := fs.Float64("val-split", 0.05, "held-out share, as given to qilin distill train (1: every conversation)")
	seed := fs.Uint64("seed", 1, "seed of the split, as given to qilin distill train")
	seqLen := fs.Int("seq-len", 512, "positions per conversation at most, as in training")
	threads := new(int)
	threadsFlag(fs, threads)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 || *ref == "" || *data == "" {
		return usageError("need --model MODEL and --data DIR")
	}
	if err := checkThreads(*threads); err != nil {
		return err
	}
	if *valSplit <= 0 || *valSplit > 1 || *seqLen < 2 {
		return usageError("--val-split must be in (0, 1] and --seq-len at least 2")
	}
	f, err := openModelFile(*ref)
	if err != nil {
		return err
	}
	defer f.Close()
	examples, err := heldOut(f, *data, *valSplit, *seed)
	if err != nil {
		return err
	}
	nll, n, err := perplexityOf(ctx, f, examples, *seqLen, *threads)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: perplexity %.3f (mean cross-entropy %.4f nats) over %d answer tokens of %d held-out conversations\n",
		*ref, math.Exp(nll/float64(n)), nll/float64(n), n, len(examples))
	return nil
}

// heldOut encodes the dataset with the model's tokenizer and template and
// returns the validation split (all of it for frac 1).
func heldOut(f *gguf.File, data string, frac float64, seed uint64) ([]train.Example, error) {
	tok, tmpl, err := loadTokenizer(f)
	if err != nil {
		return nil, err
	}
	path, recs, err := train.ReadDataset(data)
	if err != nil {
		return nil, err
	}
	examples, _ := train.NewEncoder(tok, tmpl).EncodeAll(recs)
	if frac >= 1 {
		return examples, nil
	}
	_, val := train.SplitValidation(examples, frac, seed)
	if len(val) == 0 {
		return nil, fmt.Errorf("%s: no held-out conversations", path)
	}
	return val, nil
}

// perplexityOf sums -log p(target) over the answer tokens of examples, each
// cut to seqLen tokens, with the inference forward.
func perplexityOf(ctx context.Context, f *gguf.File, examples []train.Example, seqLen, threads int) (nll float64, n int, err error) {
	m, err := model.Load(f)
	if err != nil {
		return 0, 0, err
	}
	pool := kernels.NewPool(threads)
	defer pool.Close()
	r := m.NewRunner(pool, seqLen, seqLen)
	cache := m.NewCache(seqLen)
	logits := make([]float32, seqLen*m.NVocab)
	var b model.Batch
	for _, ex := range examples {
		if err := ctx.Err(); err != nil {
			return 0, 0, err
		}
		L := min(len(ex.Tokens), seqLen)
		b.Tokens, b.Pos, b.Caches, b.Logits = b.Tokens[:0], b.Pos[:0], b.Caches[:0], b.Logits[:0]
		for i := 0; i < L; i++ {
			b.Tokens = append(b.Tokens, int(ex.Tokens[i]))
			b.Pos = append(b.Pos, i)
			b.Caches = append(b.Caches, cache)
			b.Logits = append(b.Logits, true)
		}
		if err := r.Forward(&b, logits); err != nil {
			return 0, 0, err
		}
		for i := 0; i+1 < L; i++ {
			if ex.Loss[i+1] {
				lp := logitcmp.LogSoftmax(logits[i*m.NVocab : (i+1)*m.NVocab])
				nll -= lp[ex.Tokens[i+1]]
				n++
			}
		}
	}
	if n == 0 {
		return 0, 0, fmt.Errorf("the held-out conversations have no answer tokens")
	}
	return nll, n, nil
}
