package sample_test

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/qilin-ai/qilin/sample"
)

func TestValidate(t *testing.T) {
	nan := float32(math.NaN())
	for _, tc := range []struct {
		p         sample.Params
		wantParam string
		wantMsg   string
	}{
		{sample.Defaults(), "", ""},
		{sample.Params{}, "", ""},
		{sample.Params{Temperature: 2, TopP: 1, MinP: 1, TopK: 1 << 20, RepeatPenalty: 10, PresencePenalty: -2, FrequencyPenalty: 2}, "", ""},
		{sample.Params{Temperature: -0.5}, "temperature", "temperature: -0.5 is outside [0, 2]"},
		{sample.Params{Temperature: nan}, "temperature", "temperature: NaN is not a number"},
		{sample.Params{TopP: 5}, "top_p", "top_p: 5 is outside [0, 1]"},
		{sample.Params{MinP: -0.25}, "min_p", "min_p: -0.25 is outside [0, 1]"},
		{sample.Params{TopK: -3}, "top_k", "top_k: -3 is negative"},
		{sample.Params{PresencePenalty: 3}, "presence_penalty", "presence_penalty: 3 is outside [-2, 2]"},
		{sample.Params{FrequencyPenalty: -2.5}, "frequency_penalty", "frequency_penalty: -2.5 is outside [-2, 2]"},
		{sample.Params{RepeatPenalty: 11}, "repeat_penalty", "repeat_penalty: 11 is outside [0, 10]"},
	} {
		err := tc.p.Validate()
		var pe *sample.ParamError
		switch {
		case tc.wantParam == "" && err != nil:
			t.Errorf("%+v: unexpected error %v", tc.p, err)
		case tc.wantParam != "" && !errors.As(err, &pe):
			t.Errorf("%+v: err %v, want a ParamError for %s", tc.p, err, tc.wantParam)
		case tc.wantParam != "" && (pe.Param != tc.wantParam || err.Error() != tc.wantMsg):
			t.Errorf("%+v: %q (param %s), want %q", tc.p, err, pe.Param, tc.wantMsg)
		}
	}
	r, ok := sample.RangeOf("top_p")
	if !ok || r.Check(0.5) != nil || r.Check(1.5) == nil {
		t.Errorf("RangeOf(top_p) = %v, %v", r, ok)
	}
	if _, ok := sample.RangeOf("nope"); ok {
		t.Error("RangeOf(nope) found a range")
	}
}

// recordDrawer picks the least likely candidate and records what it saw.
type recordDrawer struct {
	calls int
	last  []sample.TokenProb
	pick  int // -1: the least likely; otherwise this id
}

func (d *recordDrawer) Draw(dist []sample.TokenProb) int {
	d.calls++
	d.last = append(d.last[:0], dist...)
	if d.pick >= 0 {
		return d.pick
	}
	lo := dist[0]
	for _, x := range dist {
		if x.Prob < lo.Prob {
			lo = x
		}
	}
	return lo.ID
}

// TestDrawer: the drawer sees exactly the distribution the random draw
// would use (after top-k, at the temperature) and its choice is taken;
// greedy sampling never calls it; an id outside the distribution falls
// back to the random draw.
func TestDrawer(t *testing.T) {
	p := sample.Params{Temperature: 0.7, TopK: 3, Seed: 9}
	s := sample.New(p)
	d := &recordDrawer{pick: -1}
	s.SetDrawer(d)
	got := s.Sample(distLogits, nil)
	// Top 3 of distLogits: ids 1, 7, 3.
	want := expectedProbs(distLogits, []int{1, 7, 3}, 0.7)
	seen := map[int]float64{}
	var sum float64
	for _, x := range d.last {
		seen[x.ID] = x.Prob
		sum += x.Prob
	}
	if len(seen) != 3 || math.Abs(sum-1) > 1e-6 {
		t.Fatalf("drawer saw %v (sum %v), want ids 1, 7, 3 summing to 1", d.last, sum)
	}
	for _, id := range []int{1, 7, 3} {
		if math.Abs(seen[id]-want[id]) > 1e-6 {
			t.Errorf("id %d: probability %v, want %v (tolerance 1e-6)", id, seen[id], want[id])
		}
	}
	if got != 3 {
		t.Errorf("sampled %d, want the drawer's choice 3 (least likely of the top 3)", got)
	}

	g := sample.New(sample.Params{Temperature: 0, Seed: 9})
	gd := &recordDrawer{pick: -1}
	g.SetDrawer(gd)
	if tok := g.Sample(distLogits, nil); tok != 1 || gd.calls != 0 {
		t.Errorf("greedy: token %d with %d drawer calls, want 1 and none", tok, gd.calls)
	}

	// An id outside the distribution: the random draw decides, exactly as
	// without a drawer.
	a, b := sample.New(p), sample.New(p)
	a.SetDrawer(&recordDrawer{pick: 4})
	var ta, tb []int
	for range 50 {
		ta, tb = append(ta, a.Sample(distLogits, nil)), append(tb, b.Sample(distLogits, nil))
	}
	if diff := cmp.Diff(tb, ta); diff != "" {
		t.Errorf("a drawer returning an id outside the distribution changed the draws (-plain +with):\n%s", diff)
	}
}

func TestDrawerZeroAllocs(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	logits := randomLogits(r, 32000)
	s := sample.New(sample.Params{Temperature: 0.8, TopP: 0.99, Seed: 1})
	s.SetDrawer(&recordDrawer{pick: -1, last: make([]sample.TokenProb, 0, 32000)})
	s.Sample(logits, nil)
	if n := testing.AllocsPerRun(20, func() { s.Sample(logits, nil) }); n != 0 {
		t.Errorf("%v allocations per Sample with a drawer, want 0", n)
	}
}
