package train

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/qilin-ai/qilin/kernels"
)

// synthExamples returns n examples of random tokens, the second half of
// each the target, with top-k teacher lists on some targets.
func synthExamples(rng *rand.Rand, n, vocab int) []Example {
	var out []Example
	for i := 0; i < n; i++ {
		l := 6 + rng.IntN(10)
		ex := Example{TopOff: []int32{0}}
		for j := 0; j < l; j++ {
			ex.Tokens = append(ex.Tokens, int32(rng.IntN(vocab)))
			ex.Loss = append(ex.Loss, j >= l/2)
			if j >= l/2 && j%2 == 0 {
				ex.TopID = append(ex.TopID, ex.Tokens[j], int32((int(ex.Tokens[j])+1)%vocab))
				ex.TopLogp = append(ex.TopLogp, float32(math.Log(0.7)), float32(math.Log(0.2)))
			}
			ex.TopOff = append(ex.TopOff, int32(len(ex.TopID)))
		}
		out = append(out, ex)
	}
	return out
}

// run trains a fresh tiny student and returns its log lines.
func run(t *testing.T, threads int, o Options, examples []Example, ckpt string, stopAt int, resume bool) ([]Step, *Trainer) {
	t.Helper()
	pool := kernels.NewPool(threads)
	t.Cleanup(pool.Close)
	m, err := NewStudent(tinyConfig("qwen2", false), pool, o.MicroBatch, o.SeqLen, 42)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := NewTrainer(m, examples, o)
	if err != nil {
		t.Fatal(err)
	}
	if resume {
		if err := tr.Resume(ckpt); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var steps []Step
	err = tr.Run(ctx, ckpt, 4, func(s Step) error {
		s.TokensPS, s.ElapsedS = 0, 0 // timings differ between runs
		steps = append(steps, s)
		if s.Step == stopAt {
			cancel()
		}
		return nil
	})
	if stopAt > 0 && !errors.Is(err, errStopped) {
		t.Fatalf("stopped run: %v, want errStopped", err)
	} else if stopAt == 0 && err != nil {
		t.Fatal(err)
	}
	return steps, tr
}

func TestOverfitOneBatch(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	examples := synthExamples(rng, 4, 37)
	o := Options{Steps: 150, Batch: 2, MicroBatch: 2, SeqLen: 32, LR: 1e-2, Warmup: 5, NoDecay: true, ValSplit: -1, Seed: 3}
	steps, _ := run(t, 2, o, examples, filepath.Join(t.TempDir(), "ckpt"), 0, false)
	first, last := steps[0].Loss, steps[len(steps)-1].Loss
	t.Logf("loss %.3f -> %.4f over %d steps on one batch (must end below 0.05)", first, last, len(steps))
	if last > 0.05 {
		t.Errorf("a tiny model did not overfit one batch: loss %.4f after %d steps", last, len(steps))
	}
}

// TestDeterministic: the same seed gives the same losses bit for bit, and
// so does another thread count (every sum has a fixed order whatever the
// split between threads).
func TestDeterministic(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	examples := synthExamples(rng, 30, 37)
	o := Options{Steps: 8, Batch: 4, MicroBatch: 2, SeqLen: 24, LR: 3e-3, KD: "topk", Seed: 5}
	a, _ := run(t, 2, o, examples, filepath.Join(t.TempDir(), "a"), 0, false)
	b, _ := run(t, 2, o, examples, filepath.Join(t.TempDir(), "b"), 0, false)
	c, _ := run(t, 1, o, examples, filepath.Join(t.TempDir(), "c"), 0, false)
	if d := cmp.Diff(a, b); d != "" {
		t.Errorf("two runs with seed 5 differ (-first +second):\n%s", d)
	}
	if d := cmp.Diff(a, c); d != "" {
		t.Errorf("1 thread differs from 2 (-2 threads +1 thread):\n%s", d)
	}
	o.Seed = 6
	d, _ := run(t, 2, o, examples, filepath.Join(t.TempDir(), "d"), 0, false)
	if d[0].Loss == a[0].Loss {
		t.Errorf("another seed gave the same first loss")
	}
}

// TestResume: a run stopped at step 6 and resumed from its checkpoint logs
// exactly the losses of a run that was never interrupted.
func TestResume(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	examples := synthExamples(rng, 30, 37)
	o := Options{Steps: 14, Batch: 4, MicroBatch: 2, SeqLen: 24, LR: 3e-3, KD: "topk", Seed: 7, EvalEvery: 3}
	whole, _ := run(t, 2, o, examples, filepath.Join(t.TempDir(), "whole"), 0, false)
	dir := filepath.Join(t.TempDir(), "parts")
	first, _ := run(t, 2, o, examples, dir, 6, false)
	rest, tr := run(t, 2, o, examples, dir, 0, true)
	if tr.Done() != o.Steps {
		t.Fatalf("resumed run ended at step %d", tr.Done())
	}
	if d := cmp.Diff(whole, append(first, rest...)); d != "" {
		t.Errorf("stopped and resumed run differs from an uninterrupted one (-whole +resumed):\n%s", d)
	}
	// A checkpoint of other settings is refused.
	o.LR = 1e-3
	pool := kernels.NewPool(1)
	defer pool.Close()
	m, _ := NewStudent(tinyConfig("qwen2", false), pool, o.MicroBatch, o.SeqLen, 42)
	tr2, err := NewTrainer(m, examples, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := tr2.Resume(dir); err == nil {
		t.Error("a checkpoint made with another learning rate was accepted")
	} else {
		t.Logf("refused as it should be: %v", err)
	}
}

// TestAccumulation: two micro-batches of 2 rows take the step one batch of
// 4 rows takes (up to float32 summation order).
func TestAccumulation(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	examples := synthExamples(rng, 30, 37)
	o := Options{Steps: 3, Batch: 4, MicroBatch: 2, SeqLen: 24, LR: 3e-3, Seed: 9, ValSplit: -1}
	a, _ := run(t, 2, o, examples, filepath.Join(t.TempDir(), "a"), 0, false)
	o.MicroBatch = 4
	b, _ := run(t, 2, o, examples, filepath.Join(t.TempDir(), "b"), 0, false)
	for i := range a {
		if d := math.Abs(a[i].Loss-b[i].Loss) / b[i].Loss; d > 1e-5 || math.Abs(a[i].GradNorm-b[i].GradNorm)/b[i].GradNorm > 1e-4 {
			t.Errorf("step %d: accumulated loss %v grad norm %v, one batch %v %v", i+1, a[i].Loss, a[i].GradNorm, b[i].Loss, b[i].GradNorm)
		}
	}
}
