package train

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// Options configure a training run. The zero value of each field means its
// documented default.
type Options struct {
	Steps      int     // optimizer steps; 0: Epochs decides
	Epochs     float64 // passes over the training rows when Steps is 0 (default 1)
	Batch      int     // rows per optimizer step (default 8)
	MicroBatch int     // rows per forward/backward, a divisor of Batch: gradient accumulation (default Batch)
	SeqLen     int     // positions per row (default 512, at most the model's context)

	LR          float64 // peak learning rate (default 1e-3, 2e-4 under LoRA)
	MinLR       float64 // the cosine decay's floor (default LR/10)
	Warmup      int     // linear warmup steps (default 2% of the steps, at least 1)
	WeightDecay float64 // AdamW's decoupled decay on matrices (default 0.1; 0 needs NoDecay)
	NoDecay     bool    // WeightDecay 0 is meant, not the default
	GradClip    float64 // global gradient norm bound (default 1; negative: no clipping)

	ValSplit  float64 // share of examples held out for validation (default 0.05; negative: none)
	EvalEvery int     // steps between validations (default: 20 over the run)
	Seed      uint64

	// Distillation: KD "none", "topk" (the examples' teacher top-k) or
	// "online" (Teacher's logits), mixed as (1-KDWeight) CE + KDWeight KD.
	KD            string
	KDWeight      float64 // default 0.5 with KD
	KDTemperature float64 // default 1
	KDReverse     bool    // online: KL(student ‖ teacher) instead of KL(teacher ‖ student)
	Teacher       Teacher
}

// Teacher gives a teacher's logits for online distillation.
type Teacher interface {
	// Logits writes the logits after each token of one document, whose
	// positions start at 0: tokens (n) -> out (n, n_vocab).
	Logits(tokens []int32, out []float32) error
}

// Step is one line of train.jsonl.
type Step struct {
	Step      int      `json:"step"`
	Epoch     float64  `json:"epoch"`
	Loss      float64  `json:"loss"`              // mean cross-entropy of the step's targets
	KDLoss    *float64 `json:"kd_loss,omitempty"` // mean distillation loss, with KD
	ValLoss   *float64 `json:"val_loss,omitempty"`
	ValKDLoss *float64 `json:"val_kd_loss,omitempty"`
	LR        float64  `json:"lr"`
	GradNorm  float64  `json:"grad_norm"` // before clipping
	TokensPS  float64  `json:"tokens_per_s"`
	Tokens    int      `json:"tokens"` // non-padding tokens of the step
	ElapsedS  float64  `json:"elapsed_s"`
}

// Trainer runs the optimization of a model over examples.
type Trainer struct {
	m     *Model
	opt   *AdamW
	o     Options
	sched Schedule
	steps int
	accum int

	stream  *rowStream
	val     []packedRow
	valEx   []Example
	batches []*Batch
	teacher []float32 // online teacher logits (N, n_vocab)

	step        int
	fingerprint json.RawMessage
	elapsed     time.Duration
}

// NewTrainer prepares the training of m on examples: the validation split,
// the packing, the schedule. m must be sized for micro-batches of
// o.MicroBatch rows of o.SeqLen positions.
func NewTrainer(m *Model, examples []Example, o Options) (*Trainer, error) {
	o = o.withDefaults(m)
	if err := o.validate(m); err != nil {
		return nil, err
	}
	if len(examples) == 0 {
		return nil, fmt.Errorf("train: no examples to train on")
	}
	for i, ex := range examples {
		for _, tok := range ex.Tokens {
			if tok < 0 || int(tok) >= m.Config.NVocab {
				return nil, fmt.Errorf("train: example %d has token %d outside the vocabulary of %d", i, tok, m.Config.NVocab)
			}
		}
	}
	t := &Trainer{m: m, o: o, accum: o.Batch / o.MicroBatch}
	t.opt = newAdamW(m.params, float32(o.WeightDecay))
	train, val := SplitValidation(examples, o.ValSplit, o.Seed)
	t.valEx = val
	nVal := len(val)
	if nVal > 0 {
		idx := make([]int, nVal)
		for i := range idx {
			idx[i] = i
		}
		t.val = pack(t.valEx, idx, o.SeqLen)
	}
	t.stream = newRowStream(train, o.SeqLen, o.Seed)
	if t.stream.rowsPerEpoch() == 0 {
		return nil, fmt.Errorf("train: no training rows (every example is empty)")
	}
	t.steps = o.Steps
	if t.steps == 0 {
		t.steps = max(1, int(math.Ceil(o.Epochs*float64(t.stream.rowsPerEpoch())/float64(o.Batch))))
	}
	warm := o.Warmup
	if warm == 0 {
		warm = max(1, t.steps/50)
	}
	t.sched = Schedule{LR: o.LR, MinLR: o.MinLR, Warmup: warm, Steps: t.steps}
	for i := 0; i < t.accum; i++ {
		t.batches = append(t.batches, NewBatch(o.MicroBatch, o.SeqLen))
	}
	if o.KD == "online" {
		t.teacher = make([]float32, o.MicroBatch*o.SeqLen*m.Config.NVocab)
	}
	fp, err := t.makeFingerprint(train)
	if err != nil {
		return nil, err
	}
	t.fingerprint = fp
	return t, nil
}

// SplitValidation splits examples into training and held-out ones: a
// share frac (at least one, when frac > 0 and there are two examples or
// more) chosen by seed, the same choice the Trainer makes, so that other
// models can be evaluated on the text a student did not see.
func SplitValidation(examples []Example, frac float64, seed uint64) (train, val []Example) {
	order := rand.New(rand.NewPCG(seed, 0x7a1)).Perm(len(examples))
	nVal := 0
	if frac > 0 && len(examples) > 1 {
		nVal = min(len(examples)-1, max(1, int(math.Round(frac*float64(len(examples))))))
	}
	for i, j := range order {
		if i < nVal {
			val = append(val, examples[j])
		} else {
			train = append(train, examples[j])
		}
	}
	return train, val
}

// withDefaults fills in the documented defaults.
func (o Options) withDefaults(m *Model) Options {
	if o.Batch == 0 {
		o.Batch = 8
	}
	if o.MicroBatch == 0 {
		o.MicroBatch = min(o.Batch, m.rows)
	}
	if o.SeqLen == 0 {
		o.SeqLen = m.T
	}
	if o.Epochs == 0 {
		o.Epochs = 1
	}
	if o.LR == 0 {
		o.LR = 1e-3
		if m.loraCfg != nil {
			o.LR = 2e-4
		}
	}
	if o.MinLR == 0 {
		o.MinLR = o.LR / 10
	}
	if o.WeightDecay == 0 && !o.NoDecay {
		o.WeightDecay = 0.1
	}
	if o.GradClip == 0 {
		o.GradClip = 1
	}
	if o.ValSplit == 0 {
		o.ValSplit = 0.05
	}
	if o.KD == "" {
		o.KD = "none"
	}
	if o.KD != "none" && o.KDWeight == 0 {
		o.KDWeight = 0.5
	}
	if o.KDTemperature == 0 {
		o.KDTemperature = 1
	}
	return o
}

func (o Options) validate(m *Model) error {
	switch {
	case o.Steps < 0 || o.Epochs < 0:
		return fmt.Errorf("train: steps %d and epochs %v must not be negative", o.Steps, o.Epochs)
	case o.Batch < 1 || o.MicroBatch < 1 || o.Batch%o.MicroBatch != 0:
		return fmt.Errorf("train: batch %d must be a positive multiple of the micro-batch %d", o.Batch, o.MicroBatch)
	case o.MicroBatch > m.rows || o.SeqLen != m.T:
		return fmt.Errorf("train: micro-batches of %dx%d do not fit a model sized for %dx%d", o.MicroBatch, o.SeqLen, m.rows, m.T)
	case !(o.LR > 0) || o.MinLR < 0 || o.MinLR > o.LR || o.Warmup < 0 || o.WeightDecay < 0:
		return fmt.Errorf("train: learning rate %v (floor %v), warmup %d, weight decay %v are out of range", o.LR, o.MinLR, o.Warmup, o.WeightDecay)
	case o.ValSplit >= 1 || o.EvalEvery < 0:
		return fmt.Errorf("train: validation split %v must be below 1, eval-every %d not negative", o.ValSplit, o.EvalEvery)
	case o.KD != "none" && o.KD != "topk" && o.KD != "online":
		return fmt.Errorf("train: --kd %q: want none, topk or online", o.KD)
	case o.KDWeight < 0 || o.KDWeight > 1 || !(o.KDTemperature > 0):
		return fmt.Errorf("train: kd weight %v must be in [0, 1] and temperature %v positive", o.KDWeight, o.KDTemperature)
	case o.KD == "online" && o.Teacher == nil:
		return fmt.Errorf("train: --kd online needs a teacher")
	}
	return nil
}

// makeFingerprint summarizes what determines the run's trajectory, so that
// --resume refuses a checkpoint of another run. The thread count is not in
// it: results do not depend on it.
func (t *Trainer) makeFingerprint(train []Example) (json.RawMessage, error) {
	h := sha256.New()
	var b [4]byte
	for _, ex := range train {
		for i, tok := range ex.Tokens {
			v := uint32(tok) << 1
			if ex.Loss[i] {
				v |= 1
			}
			binary.LittleEndian.PutUint32(b[:], v)
			h.Write(b[:])
		}
		binary.LittleEndian.PutUint32(b[:], 0xffffffff)
		h.Write(b[:])
	}
	o := t.o
	fp := map[string]any{
		"config": t.m.Config, "lora": t.m.loraCfg, "steps": t.steps, "batch": o.Batch, "micro_batch": o.MicroBatch,
		"seq_len": o.SeqLen, "lr": o.LR, "min_lr": o.MinLR, "warmup": t.sched.Warmup, "weight_decay": o.WeightDecay,
		"grad_clip": o.GradClip, "val_split": o.ValSplit, "seed": o.Seed, "kd": o.KD, "kd_weight": o.KDWeight,
		"kd_temperature": o.KDTemperature, "kd_reverse": o.KDReverse, "data": hex.EncodeToString(h.Sum(nil)),
	}
	return json.Marshal(fp)
}

// Steps returns the number of optimizer steps of the run.
func (t *Trainer) Steps() int { return t.steps }

// Done returns the number of steps taken (restored ones included).
func (t *Trainer) Done() int { return t.step }

// Options returns the options with their defaults filled in.
func (t *Trainer) Options() Options { return t.o }

// Model returns the model being trained.
func (t *Trainer) Model() *Model { return t.m }

// Step runs one optimizer step and returns its log line (without
// validation).
func (t *Trainer) Step() (Step, error) {
	start := time.Now()
	step := t.step + 1
	m, o := t.m, t.o
	m.zeroGrad()
	nCE, nKD, tokens := 0, 0, 0
	for a, b := range t.batches {
		rows := make([]packedRow, o.MicroBatch)
		for r := range rows {
			rows[r] = t.stream.row((step-1)*o.Batch + a*o.MicroBatch + r)
		}
		ce, kd := b.fill(t.stream.examples, rows)
		nCE, nKD = nCE+ce, nKD+kd
		tokens += realTokens(t.stream.examples, rows, o.SeqLen)
	}
	w := t.weights(nCE, nKD)
	var sums lossSums
	for _, b := range t.batches {
		if t.teacher != nil {
			if err := t.teacherLogits(b); err != nil {
				return Step{}, err
			}
			w.teacher = t.teacher
		}
		sums.add(m.step(b, w))
	}
	norm := gradNorm(m.grads)
	if math.IsNaN(norm) || math.IsInf(norm, 0) {
		return Step{}, fmt.Errorf("train: step %d: the gradient norm is %v (lower the learning rate)", step, norm)
	}
	if o.GradClip > 0 && norm > o.GradClip {
		scaleGrads(m.grads, float32(o.GradClip/norm))
	}
	lr := t.sched.At(step)
	t.opt.update(m.pool, m.params, m.grads, float32(lr), step)
	t.step = step
	d := time.Since(start)
	t.elapsed += d
	s := Step{Step: step, Epoch: t.stream.epochAt(step * o.Batch), Loss: mean(sums.ce, sums.nCE), LR: lr, GradNorm: norm,
		Tokens: tokens, TokensPS: float64(tokens) / d.Seconds(), ElapsedS: t.elapsed.Seconds()}
	if o.KD != "none" && sums.nKD > 0 {
		kd := mean(sums.kd, sums.nKD)
		s.KDLoss = &kd
	}
	return s, nil
}

// weights returns the loss weights of a step with nCE cross-entropy and
// nKD distillation targets: (1-α) mean CE + α mean KD, or mean CE alone
// when the step has no distillation target.
func (t *Trainer) weights(nCE, nKD int) lossWeights {
	w := lossWeights{tau: float32(t.o.KDTemperature), reverse: t.o.KDReverse}
	if t.o.KD == "online" {
		nKD = nCE
	}
	alpha := t.o.KDWeight
	if t.o.KD == "none" || nKD == 0 {
		alpha = 0
	}
	if nCE > 0 {
		w.ce = float32((1 - alpha) / float64(nCE))
	}
	if nKD > 0 {
		w.kd = float32(alpha / float64(nKD))
	}
	return w
}

// teacherLogits fills t.teacher with the teacher's logits for every
// document of b that carries a loss.
func (t *Trainer) teacherLogits(b *Batch) error {
	V := t.m.Config.NVocab
	var err error
	for r := 0; r < b.Rows && err == nil; r++ {
		b.segments(r, func(s, e int) {
			lo, hi := r*b.T+s, r*b.T+e
			if err != nil || !b.anyLoss(lo, hi) {
				return
			}
			err = t.o.Teacher.Logits(b.Tokens[lo:hi], t.teacher[lo*V:hi*V])
		})
	}
	if err != nil {
		return fmt.Errorf("train: teacher: %w", err)
	}
	return nil
}

// Validate returns the mean CE (and KD, with top-k distillation) over the
// held-out examples; ok is false without a validation split.
func (t *Trainer) Validate() (ce, kd float64, ok bool) {
	if len(t.val) == 0 {
		return 0, 0, false
	}
	b := t.batches[0]
	w := t.weights(1, 1)
	w.ce, w.kd, w.teacher = 1, 1, nil
	var sums lossSums
	for i := 0; i < len(t.val); i += t.o.MicroBatch {
		rows := t.val[i:min(i+t.o.MicroBatch, len(t.val))]
		b.fill(t.valEx, rows)
		sums.add(t.m.eval(b, w))
	}
	return mean(sums.ce, sums.nCE), mean(sums.kd, sums.nKD), true
}

// EvalDue reports whether the step just taken should be followed by a
// validation: every EvalEvery steps, and at the last.
func (t *Trainer) EvalDue() bool {
	every := t.o.EvalEvery
	if every == 0 {
		every = max(1, t.steps/20)
	}
	return t.step%every == 0 || t.step == t.steps
}

func mean(sum float64, n int) float64 {
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}

// realTokens counts the non-padding positions of rows.
func realTokens(examples []Example, rows []packedRow, T int) int {
	n := 0
	for _, r := range rows {
		for _, i := range r {
			n += min(len(examples[i].Tokens), T)
		}
	}
	return n
}

// Run trains to the last step, calling log after each step with its line
// (validation included when due) and saving a checkpoint into ckptDir
// every ckptEvery steps (0: only at the end) and when ctx is cancelled.
// Resume, called before Run, restores the latest checkpoint.
func (t *Trainer) Run(ctx context.Context, ckptDir string, ckptEvery int, log func(Step) error) error {
	for t.step < t.steps {
		if ctx.Err() != nil {
			if err := t.saveCheckpoint(ckptDir); err != nil {
				return err
			}
			return fmt.Errorf("%w at step %d (checkpointed; rerun with --resume)", errStopped, t.step)
		}
		s, err := t.Step()
		if err != nil {
			return err
		}
		if t.EvalDue() {
			if ce, kd, ok := t.Validate(); ok {
				s.ValLoss = &ce
				if t.o.KD == "topk" {
					s.ValKDLoss = &kd
				}
			}
		}
		if err := log(s); err != nil {
			return err
		}
		if (ckptEvery > 0 && t.step%ckptEvery == 0) || t.step == t.steps {
			if err := t.saveCheckpoint(ckptDir); err != nil {
				return err
			}
		}
	}
	return nil
}

// Resume restores the latest checkpoint in dir.
func (t *Trainer) Resume(dir string) error { return t.loadCheckpoint(dir) }
