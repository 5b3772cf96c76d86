package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/qilin-ai/qilin/chat"
	"github.com/qilin-ai/qilin/gguf"
	"github.com/qilin-ai/qilin/internal/termui"
	"github.com/qilin-ai/qilin/kernels"
	"github.com/qilin-ai/qilin/quant"
	"github.com/qilin-ai/qilin/tokenizer"
	"github.com/qilin-ai/qilin/train"
)

func init() {
	registerIn("distill", distillSummary, &command{
		name:    "train",
		summary: "train a student GGUF on a collected dataset (SFT, top-k or online KD, LoRA)",
		run:     runDistillTrain,
	})
}

const distillTrainUsage = `--data DIR --out student.gguf [--student SHAPE.json | --init MODEL]
    [--kd none|topk|online] [--teacher MODEL] [--kd-weight A] [--kd-temperature T]
    [--steps N | --epochs E] [--batch B] [--seq-len L] [--lr LR] [--warmup N] [--weight-decay W]
    [--lora-rank R] [--val-split 0.05] [--eval-every N] [--checkpoint-every N] [--resume]
    [--seed S] [--threads T] [--dtype f32|f16]

Writes OUT, and beside it train.jsonl, loss.svg and checkpoints/ (one run per folder).`

// trainFlags are the flags of qilin distill train.
type trainFlags struct {
	data, out, student, init, tokenizer, teacher string
	kd                                           string
	kdWeight, kdTemp                             float64
	kdReverse                                    bool
	steps                                        int
	epochs                                       float64
	batch, microBatch, seqLen                    int
	lr, minLR, weightDecay, gradClip             float64
	warmup                                       int
	loraRank                                     int
	loraAlpha                                    float64
	loraTargets                                  string
	valSplit                                     float64
	evalEvery, ckptEvery                         int
	ckptDir                                      string
	resume                                       bool
	untrained                                    bool
	seed                                         uint64
	threads                                      int
	dtype                                        string
	set                                          map[string]bool // flags given on the command line
}

func (f *trainFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.data, "data", "", "the dataset: a folder from qilin distill collect, or a JSONL file of conversations")
	fs.StringVar(&f.out, "out", "", "the student GGUF to write")
	fs.StringVar(&f.student, "student", "", "train a new student of this shape (JSON: arch, n_embd, n_layer, n_head, n_head_kv, n_ff, rope_base, tied)")
	fs.StringVar(&f.init, "init", "", "start from this GGUF model (llama or qwen2; quantized files are dequantized)")
	fs.StringVar(&f.tokenizer, "tokenizer", "", "take the tokenizer and chat template from this model (default: --init's, else the dataset's teacher)")
	fs.StringVar(&f.teacher, "teacher", "", "the teacher GGUF for --kd online (default: the dataset's teacher)")
	fs.StringVar(&f.kd, "kd", "none", "distillation: none (SFT), topk (the dataset's top-k logprobs) or online (run the teacher)")
	fs.Float64Var(&f.kdWeight, "kd-weight", 0, "the KD share of the loss: (1-A) CE + A KD (default 0.5 with --kd)")
	fs.Float64Var(&f.kdTemp, "kd-temperature", 1, "distillation temperature (the KL is scaled by T²)")
	fs.BoolVar(&f.kdReverse, "kd-reverse", false, "online KD: minimize KL(student ‖ teacher) instead of KL(teacher ‖ student)")
	fs.IntVar(&f.steps, "steps", 0, "optimizer steps (default: --epochs)")
	fs.Float64Var(&f.epochs, "epochs", 0, "passes over the training data when --steps is not given (default 1)")
	fs.IntVar(&f.batch, "batch", 8, "sequences per optimizer step")
	fs.IntVar(&f.microBatch, "micro-batch", 0, "sequences per forward/backward; the batch is accumulated over batch/micro-batch passes (default: the batch)")
	fs.IntVar(&f.seqLen, "seq-len", 0, "positions per sequence, documents packed into them (default min(512, the model's context))")
	fs.Float64Var(&f.lr, "lr", 0, "peak learning rate (default 1e-3, 2e-4 with LoRA)")
	fs.Float64Var(&f.minLR, "min-lr", 0, "learning rate at the end of the cosine decay (default lr/10)")
	fs.IntVar(&f.warmup, "warmup", 0, "linear warmup steps (default 2% of the steps)")
	fs.Float64Var(&f.weightDecay, "weight-decay", 0.1, "AdamW decoupled weight decay on matrices")
	fs.Float64Var(&f.gradClip, "grad-clip", 1, "clip the global gradient norm to this (0: no clipping)")
	fs.IntVar(&f.loraRank, "lora-rank", 0, "train LoRA adapters of this rank on a frozen --init model (0: train every weight)")
	fs.Float64Var(&f.loraAlpha, "lora-alpha", 0, "LoRA scale numerator: adapters add alpha/rank * B A (default 2*rank)")
	fs.StringVar(&f.loraTargets, "lora-targets", "attn,ffn", "projections that get adapters: attn, ffn or both")
	fs.Float64Var(&f.valSplit, "val-split", 0.05, "share of the conversations held out for validation (0: none)")
	fs.IntVar(&f.evalEvery, "eval-every", 0, "steps between validations (default: 20 validations over the run)")
	fs.IntVar(&f.ckptEvery, "checkpoint-every", 0, "steps between checkpoints (default: 10 over the run; always at the end and on Ctrl-C)")
	fs.StringVar(&f.ckptDir, "checkpoint-dir", "", "checkpoint folder (default: checkpoints/ beside --out)")
	fs.BoolVar(&f.resume, "resume", false, "continue from the latest checkpoint, bit for bit")
	fs.BoolVar(&f.untrained, "untrained", false, "write the student as initialized, without training (a baseline to compare with)")
	fs.Uint64Var(&f.seed, "seed", 1, "seed of the initialization, the shuffling and the validation split")
	fs.IntVar(&f.threads, "threads", 0, "threads (0: all CPUs); results do not depend on it")
	alias(fs, "t", "threads")
	fs.StringVar(&f.dtype, "dtype", "f32", "type of the exported matrices: f32 or f16")
}

func runDistillTrain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("distill train", distillTrainUsage, stderr)
	var f trainFlags
	f.register(fs)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	f.set = map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { f.set[fl.Name] = true })
	if err := f.check(pos); err != nil {
		return err
	}
	start := time.Now()
	job, err := prepareTraining(&f, stderr)
	if err != nil {
		return err
	}
	defer job.close()
	tr := job.trainer
	if f.untrained {
		if err := os.MkdirAll(filepath.Dir(f.out), 0o755); err != nil {
			return err
		}
		if err := job.export(&f); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s (%s, untrained)\n", f.out, job.describe)
		return nil
	}
	outDir := filepath.Dir(f.out)
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}
	ckptDir := f.ckptDir
	if ckptDir == "" {
		ckptDir = filepath.Join(outDir, "checkpoints")
	}
	if f.resume {
		if err := tr.Resume(ckptDir); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "resuming at step %d of %d from %s\n", tr.Done(), tr.Steps(), ckptDir)
	}
	logPath, chartPath := filepath.Join(outDir, "train.jsonl"), filepath.Join(outDir, "loss.svg")
	log, err := train.OpenRunLog(logPath, f.resume, tr.Done())
	if err != nil {
		return err
	}
	defer log.Close()
	ckptEvery := f.ckptEvery
	if ckptEvery == 0 {
		ckptEvery = max(1, tr.Steps()/10)
	}
	bar := termui.NewCountBar(stderr, "train", int64(tr.Steps()), "steps")
	bar.Set(int64(tr.Done()))
	err = tr.Run(ctx, ckptDir, ckptEvery, func(s train.Step) error {
		note := fmt.Sprintf("loss %.3f", s.Loss)
		if s.KDLoss != nil {
			note += fmt.Sprintf(" kd %.3f", *s.KDLoss)
		}
		if s.ValLoss != nil {
			note += fmt.Sprintf(" val %.3f", *s.ValLoss)
		}
		bar.SetNote(note + fmt.Sprintf(" %.0f tok/s", s.TokensPS))
		bar.Set(int64(s.Step))
		return log.Write(s)
	})
	bar.Finish()
	title := fmt.Sprintf("%s: %s, %s", filepath.Base(f.out), job.describe, distillMode(&f))
	if cerr := train.WriteLossChart(chartPath, title, log.Steps); cerr != nil && err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := job.export(&f); err != nil {
		return err
	}
	last := log.Steps[len(log.Steps)-1]
	fmt.Fprintf(stdout, "wrote %s (%s, %d steps, final loss %.4f", f.out, job.describe, tr.Done(), last.Loss)
	if last.ValLoss != nil {
		fmt.Fprintf(stdout, ", val loss %.4f", *last.ValLoss)
	}
	fmt.Fprintf(stdout, ") in %s; log %s, curve %s, checkpoints %s\n", time.Since(start).Round(time.Second), logPath, chartPath, ckptDir)
	return nil
}

// check validates the flags that do not need files opened.
func (f *trainFlags) check(pos []string) error {
	switch {
	case len(pos) > 0:
		return usageError("unexpected argument %q", pos[0])
	case f.data == "" || f.out == "":
		return usageError("--data and --out are required")
	case (f.student == "") == (f.init == ""):
		return usageError("give one of --student SHAPE.json (a new student) or --init MODEL")
	case f.set["steps"] && f.set["epochs"]:
		return usageError("give --steps or --epochs, not both")
	case f.kd != "none" && f.kd != "topk" && f.kd != "online":
		return usageError("--kd %q: want none, topk or online", f.kd)
	case f.kd == "none" && (f.set["kd-weight"] || f.set["kd-temperature"] || f.set["teacher"]):
		return usageError("--kd-weight, --kd-temperature and --teacher need --kd topk or online")
	case f.loraRank > 0 && f.init == "":
		return usageError("--lora-rank needs --init MODEL (adapters train on a frozen model)")
	case f.loraRank < 0 || f.batch < 1 || f.microBatch < 0 || f.seqLen < 0 || f.threads < 0 || f.steps < 0 || f.epochs < 0:
		return usageError("--lora-rank, --batch, --micro-batch, --seq-len, --threads, --steps and --epochs must not be negative")
	case f.dtype != "f32" && f.dtype != "f16":
		return usageError("--dtype %q: want f32 or f16 (then qilin quantize)", f.dtype)
	case !strings.HasSuffix(f.out, ".gguf"):
		return usageError("--out %q should end in .gguf", f.out)
	}
	return nil
}

func distillMode(f *trainFlags) string {
	switch f.kd {
	case "topk":
		return "SFT + top-k KD"
	case "online":
		return "SFT + online KD"
	}
	return "SFT"
}

// trainingJob is a prepared run: its trainer and the files it holds open.
type trainingJob struct {
	trainer  *train.Trainer
	tokFile  *gguf.File
	describe string // "new llama student, 1.2M parameters"
	closers  []func() error
	pool     *kernels.Pool
}

// export writes the student to f.out.
func (j *trainingJob) export(f *trainFlags) error {
	dtype := quant.F32
	if f.dtype == "f16" {
		dtype = quant.F16
	}
	return j.trainer.Model().Export(f.out, train.ExportOptions{Type: dtype, Name: strings.TrimSuffix(filepath.Base(f.out), ".gguf"), Tokenizer: j.tokFile})
}

func (j *trainingJob) close() {
	for i := len(j.closers) - 1; i >= 0; i-- {
		j.closers[i]()
	}
	if j.pool != nil {
		j.pool.Close()
	}
}

// openModelFile resolves a model reference and opens it.
func openModelFile(ref string) (*gguf.File, error) {
	mf, err := resolveModel(ref)
	if err != nil {
		return nil, err
	}
	return mf.open(false)
}

// datasetTeacher is the teacher named by the dataset's manifest, when it is
// a model qilin can open here ("" otherwise).
func datasetTeacher(data string) string {
	model, endpoint, ok := train.ManifestTeacher(data)
	if !ok || (endpoint != "" && endpoint != "local") {
		return ""
	}
	if _, err := resolveModel(model); err != nil {
		return ""
	}
	return model
}

var errNoTokenizer = errors.New("no tokenizer: give --tokenizer MODEL (the dataset's manifest names no local teacher)")

// loadTokenizer returns the tokenizer and chat template of a model file.
func loadTokenizer(f *gguf.File) (*tokenizer.Tokenizer, *chat.Template, error) {
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		return nil, nil, err
	}
	tmpl, err := chat.ForModel(f.String("tokenizer.chat_template", ""))
	return tok, tmpl, err
}
