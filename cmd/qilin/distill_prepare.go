package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/qilin-ai/qilin/gguf"
	"github.com/qilin-ai/qilin/kernels"
	"github.com/qilin-ai/qilin/model"
	"github.com/qilin-ai/qilin/tokenizer"
	"github.com/qilin-ai/qilin/train"
)

// prepareTraining reads the dataset, the tokenizer and the starting model
// and returns the trainer, reporting what it found on stderr.
func prepareTraining(f *trainFlags, stderr io.Writer) (*trainingJob, error) {
	job := &trainingJob{}
	ok := false
	defer func() {
		if !ok {
			job.close()
		}
	}()
	open := func(ref string) (*gguf.File, error) {
		gf, err := openModelFile(ref)
		if err != nil {
			return nil, err
		}
		job.closers = append(job.closers, gf.Close)
		return gf, nil
	}

	job.pool = kernels.NewPool(f.threads)
	dataFile, recs, err := train.ReadDataset(f.data)
	if err != nil {
		return nil, err
	}

	tokRef := f.tokenizer
	if tokRef == "" {
		tokRef = f.init
	}
	if tokRef == "" {
		tokRef = datasetTeacher(f.data)
	}
	if tokRef == "" {
		return nil, usageError("%v", errNoTokenizer)
	}
	if job.tokFile, err = open(tokRef); err != nil {
		return nil, err
	}
	tok, tmpl, err := loadTokenizer(job.tokFile)
	if err != nil {
		return nil, fmt.Errorf("tokenizer of %s: %w", tokRef, err)
	}
	if tmpl.IsFallback() {
		fmt.Fprintf(stderr, "note: %s has no chat template; conversations are rendered with the ChatML fallback, as qilin does when it runs it\n", tokRef)
	}
	enc := train.NewEncoder(tok, tmpl)
	enc.TopK = f.kd == "topk"
	examples, st := enc.EncodeAll(recs)
	reportDataset(stderr, dataFile, st)
	if st.Examples == 0 {
		return nil, fmt.Errorf("no usable conversation in %s", dataFile)
	}

	// Distillation needs the teacher's vocabulary.
	var teacher train.Teacher
	switch f.kd {
	case "topk":
		if st.TopKTargets == 0 {
			return nil, fmt.Errorf("--kd topk: %s has no top-k log-probabilities (collect with --top-logprobs K)", dataFile)
		}
		if ref := datasetTeacher(f.data); ref != "" {
			if err := sameVocabularyAs(open, tok, ref); err != nil {
				return nil, err
			}
		} else if st.LogprobsUnaligned > 0 {
			return nil, fmt.Errorf("--kd topk: the logprobs of %d conversations name tokens the student's vocabulary lacks: the teacher's vocabulary differs", st.LogprobsUnaligned)
		}
	case "online":
		ref := f.teacher
		if ref == "" {
			ref = datasetTeacher(f.data)
		}
		if ref == "" {
			return nil, usageError("--kd online needs --teacher MODEL (a local GGUF)")
		}
		tf, err := open(ref)
		if err != nil {
			return nil, err
		}
		ttok, err := tokenizer.FromGGUF(tf)
		if err != nil {
			return nil, err
		}
		if err := train.SameVocabulary(tok, ttok); err != nil {
			return nil, err
		}
		if teacher, err = newModelTeacher(tf, job.pool); err != nil {
			return nil, err
		}
	}

	// The student.
	var cfg train.Config
	var initFile *gguf.File
	if f.student != "" {
		data, err := os.ReadFile(f.student)
		if err != nil {
			return nil, err
		}
		shape, err := train.ParseShape(data)
		if err != nil {
			return nil, err
		}
		if cfg, err = shape.Config(tok.VocabSize()); err != nil {
			return nil, err
		}
	} else {
		if initFile, err = open(f.init); err != nil {
			return nil, err
		}
		if cfg, err = train.ConfigFromGGUF(initFile); err != nil {
			return nil, err
		}
		if cfg.NVocab != tok.VocabSize() {
			return nil, fmt.Errorf("%s has %d token embeddings, the tokenizer %d tokens", f.init, cfg.NVocab, tok.VocabSize())
		}
	}
	seqLen := f.seqLen
	if seqLen == 0 {
		seqLen = min(512, cfg.NCtx)
	}
	if seqLen > cfg.NCtx {
		return nil, usageError("--seq-len %d exceeds the model's context of %d", seqLen, cfg.NCtx)
	}
	micro := f.microBatch
	if micro == 0 {
		micro = f.batch
	}
	if f.batch%micro != 0 {
		return nil, usageError("--batch %d must be a multiple of --micro-batch %d", f.batch, micro)
	}
	var m *train.Model
	if f.student != "" {
		m, err = train.NewStudent(cfg, job.pool, micro, seqLen, f.seed)
		job.describe = fmt.Sprintf("new %s student, %s parameters", cfg.Arch, count(cfg.Params()))
	} else {
		var lora *train.LoRA
		if f.loraRank > 0 {
			lora = &train.LoRA{Rank: f.loraRank, Alpha: f.loraAlpha, Targets: strings.Split(f.loraTargets, ",")}
			if lora.Alpha == 0 {
				lora.Alpha = 2 * float64(f.loraRank)
			}
		}
		m, err = train.FromGGUF(initFile, job.pool, micro, seqLen, lora, f.seed)
		job.describe = fmt.Sprintf("%s (%s parameters)", initFile.String("general.name", f.init), count(cfg.Params()))
		if lora != nil {
			job.describe += fmt.Sprintf(" + LoRA r=%d on %s, %s trainable", lora.Rank, f.loraTargets, count(m.Trainable()))
		}
	}
	if err != nil {
		return nil, err
	}
	o := train.Options{
		Steps: f.steps, Epochs: f.epochs, Batch: f.batch, MicroBatch: micro, SeqLen: seqLen,
		LR: f.lr, MinLR: f.minLR, Warmup: f.warmup, WeightDecay: f.weightDecay, NoDecay: f.weightDecay == 0,
		GradClip: f.gradClip, ValSplit: f.valSplit, EvalEvery: f.evalEvery, Seed: f.seed,
		KD: f.kd, KDWeight: f.kdWeight, KDTemperature: f.kdTemp, KDReverse: f.kdReverse, Teacher: teacher,
	}
	if f.gradClip == 0 {
		o.GradClip = -1
	}
	if f.valSplit == 0 {
		o.ValSplit = -1
	}
	if job.trainer, err = train.NewTrainer(m, examples, o); err != nil {
		return nil, err
	}
	fmt.Fprintf(stderr, "training %s: %d steps of %d x %d positions (micro-batch %d), %s\n",
		job.describe, job.trainer.Steps(), f.batch, seqLen, micro, distillMode(f))
	ok = true
	return job, nil
}

// sameVocabularyAs checks the student's tokenizer against a teacher model's.
func sameVocabularyAs(open func(string) (*gguf.File, error), tok *tokenizer.Tokenizer, ref string) error {
	tf, err := open(ref)
	if err != nil {
		return err
	}
	ttok, err := tokenizer.FromGGUF(tf)
	if err != nil {
		return err
	}
	return train.SameVocabulary(tok, ttok)
}

func reportDataset(w io.Writer, file string, st train.EncodeStats) {
	fmt.Fprintf(w, "%s: %d conversations, %d used: %d tokens, %d of them targets", file, st.Records, st.Examples, st.Tokens, st.Targets)
	if st.TopKTargets > 0 {
		fmt.Fprintf(w, ", %d with the teacher's top-k", st.TopKTargets)
	}
	fmt.Fprintln(w)
	reasons := make([]string, 0, len(st.Skipped))
	for r := range st.Skipped {
		reasons = append(reasons, r)
	}
	sort.Strings(reasons)
	for _, r := range reasons {
		fmt.Fprintf(w, "  skipped %d: %s\n", st.Skipped[r], r)
	}
	if st.LogprobsUnaligned > 0 {
		fmt.Fprintf(w, "  %d conversations' logprobs did not map to the vocabulary; their answers were re-tokenized\n", st.LogprobsUnaligned)
	}
	if st.TruncatedByTeacher > 0 {
		fmt.Fprintf(w, "  %d answers were cut at the teacher's token limit (trained without an end of turn)\n", st.TruncatedByTeacher)
	}
}

// count formats a parameter count: "656.0K", "1.54B".
func count(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2fB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.1fM", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1fK", float64(n)/1e3)
	}
	return fmt.Sprintf("%d", n)
}

// modelTeacher is a local teacher for online distillation, evaluated with
// the inference forward (model.Runner), a document at a time.
type modelTeacher struct {
	m      *model.Model
	r      *model.Runner
	cache  *model.Cache
	maxLen int
	b      model.Batch
}

// teacherBatch bounds the positions a teacher evaluates per call.
const teacherBatch = 2048

// newModelTeacher loads the teacher in f; it runs on the trainer's pool,
// between the student's steps.
func newModelTeacher(f *gguf.File, pool *kernels.Pool) (*modelTeacher, error) {
	m, err := model.Load(f)
	if err != nil {
		return nil, err
	}
	n := min(teacherBatch, m.NCtxTrain)
	return &modelTeacher{m: m, r: m.NewRunner(pool, n, n), cache: m.NewCache(n), maxLen: n}, nil
}

// Logits writes the teacher's logits after each token of one document.
func (t *modelTeacher) Logits(tokens []int32, out []float32) error {
	if len(tokens) > t.maxLen {
		return fmt.Errorf("a document of %d tokens exceeds the teacher's %d", len(tokens), t.maxLen)
	}
	b := &t.b
	b.Tokens, b.Pos, b.Caches, b.Logits = b.Tokens[:0], b.Pos[:0], b.Caches[:0], b.Logits[:0]
	for i, tok := range tokens {
		b.Tokens = append(b.Tokens, int(tok))
		b.Pos = append(b.Pos, i)
		b.Caches = append(b.Caches, t.cache)
		b.Logits = append(b.Logits, true)
	}
	return t.r.Forward(b, out[:len(tokens)*t.m.NVocab])
}
