package logitcmp

import (
	"math"
	"testing"
)

func TestCompare(t *testing.T) {
	ref := []float32{0, 1, 2, 5, 0, 0}
	kl, top1 := Compare(ref, ref, 3)
	if kl != 0 || top1 != 1 {
		t.Errorf("identical rows: KL %v top-1 %v, want 0 and 1", kl, top1)
	}
	// Shifting logits by a constant changes nothing; swapping the top two of
	// the first row changes its argmax and costs (p1-p2)(log p1 - log p2).
	got := []float32{10, 12, 11, 15, 10, 10}
	kl, top1 = Compare(ref, got, 3)
	p := LogSoftmax(ref[:3])
	want := (math.Exp(p[2]) - math.Exp(p[1])) * (p[2] - p[1]) / 2
	if math.Abs(kl-want) > 1e-12 || top1 != 0.5 {
		t.Errorf("KL %v top-1 %v, want %v and 0.5", kl, top1, want)
	}
}
