package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime/debug"
	"time"

	"github.com/qilin-ai/qilin/engine"
	"github.com/qilin-ai/qilin/kernels"
)

// benchRun runs bench's tests on one loaded model.
type benchRun struct {
	ctx     context.Context
	e       *engine.Engine
	seq     *engine.Sequence
	reps    int
	bw      *kernels.Pool // every CPU, for the bandwidth passes
	bwBytes int
	rng     *rand.Rand
	rep     *benchReport
}

// keep asks for the logits, as llama-bench does.
func (b *benchRun) keep(int, []float32) {}

func (b *benchRun) randomTokens(n int) []int {
	t := make([]int, n)
	for i := range t {
		t[i] = b.rng.IntN(b.e.Model.NVocab)
	}
	return t
}

// fill evaluates d random tokens from an empty context (not timed); each
// test's repetition then resumes after them (Sequence.Reset(d): a
// recurrent model's states come back from the snapshot marked at d), as
// llama-bench restores its state saved after the depth.
func (b *benchRun) fill(d int) error {
	b.seq.Reset(0)
	if d == 0 {
		return nil
	}
	b.seq.MarkSnapshot(d)
	if err := b.seq.Eval(b.randomTokens(d), false, b.keep); err != nil {
		return err
	}
	if got := len(b.seq.Tokens()); got != d {
		return fmt.Errorf("bench: the context holds %d tokens after a fill of %d", got, d)
	}
	return nil
}

// resume drops what the last repetition added after the depth d.
func (b *benchRun) resume(d int) error {
	b.seq.Reset(d)
	if got := len(b.seq.Tokens()); got != d {
		return fmt.Errorf("bench: cannot resume at depth %d (the cache keeps %d tokens)", d, got)
	}
	return nil
}

// probe measures the read bandwidth in bytes per second: streaming for at
// least d, or the best of 3 passes when d is 0.
func (b *benchRun) probe(d time.Duration) float64 {
	var bw float64
	if d == 0 {
		bw = b.bw.ReadBandwidth(b.bwBytes, 3)
	} else {
		bw = b.bw.ReadBandwidthFor(b.bwBytes, d)
	}
	debug.FreeOSMemory() // return the buffer before the next test
	return bw
}

// pp times n prompt tokens in one batch after d tokens of context.
func (b *benchRun) pp(n, d int) (benchTest, error) {
	res := benchTest{Test: testName("pp", n, d), Depth: d}
	for range b.reps {
		if err := b.ctx.Err(); err != nil {
			return res, err
		}
		if err := b.resume(d); err != nil {
			return res, err
		}
		toks := b.randomTokens(n)
		t0 := time.Now()
		if err := b.seq.Eval(toks, false, b.keep); err != nil {
			return res, err
		}
		res.Samples = append(res.Samples, float64(n)/time.Since(t0).Seconds())
	}
	res.TokensPerS, res.Stddev = meanStddev(res.Samples)
	return res, nil
}

// tg times n tokens decoded one at a time after d tokens of context, each
// repetition followed by a bandwidth measurement as long as it took: on a
// shared machine the two then see about the same load, so that the
// roofline share of each pair compares like with like.
func (b *benchRun) tg(n, d int) (benchTest, error) {
	res := benchTest{Test: testName("tg", n, d), Depth: d}
	one := []int{0}
	for range b.reps {
		if err := b.ctx.Err(); err != nil {
			return res, err
		}
		if err := b.resume(d); err != nil {
			return res, err
		}
		toks := b.randomTokens(n)
		t0 := time.Now()
		for _, tok := range toks {
			one[0] = tok
			if err := b.seq.Eval(one, false, b.keep); err != nil {
				return res, err
			}
		}
		took := time.Since(t0)
		res.Samples = append(res.Samples, float64(n)/took.Seconds())
		b.rep.ResidentBytes = max(b.rep.ResidentBytes, residentBytes())
		res.Bandwidth = append(res.Bandwidth, b.probe(took)/1e9)
	}
	res.TokensPerS, res.Stddev = meanStddev(res.Samples)
	return res, nil
}

// testName is llama-bench's name of a test: pp512, tg128, tg32 @ d8192.
func testName(kind string, n, d int) string {
	if d == 0 {
		return fmt.Sprintf("%s%d", kind, n)
	}
	return fmt.Sprintf("%s%d @ d%d", kind, n, d)
}

// rooflineTest is the tg test the roofline share is given for: the first
// one without context (the weights are then all a token reads), else nil.
func rooflineTest(ts []benchTest) *benchTest {
	for i, t := range ts {
		if t.Depth == 0 && len(t.Bandwidth) == len(t.Samples) && len(t.Samples) > 0 && t.Test[:2] == "tg" {
			return &ts[i]
		}
	}
	return nil
}

// pairedShare returns the mean bandwidth (GB/s) of the tests' samples'
// paired passes and the mean over the samples of tok/s × bytes per token
// over the bandwidth measured right after that sample.
func pairedShare(ts []benchTest, bytesPerToken int64) (gbs, share float64) {
	var n int
	for _, t := range ts {
		for i, tps := range t.Samples {
			if i >= len(t.Bandwidth) || t.Bandwidth[i] <= 0 {
				continue
			}
			gbs += t.Bandwidth[i]
			share += tps * float64(bytesPerToken) / (t.Bandwidth[i] * 1e9)
			n++
		}
	}
	if n == 0 {
		return 0, 0
	}
	return gbs / float64(n), share / float64(n)
}
