package sample

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestApplyPenalties(t *testing.T) {
	logits := []float32{2, -1, 0.5, 3}
	hist := []int{0, 1, 0, 3, 7, -2}
	tests := []struct {
		name string
		p    Params
		want []float32
	}{
		// Repeat 2: positive halves, negative doubles, id 2 (unseen) stays.
		{"repeat", Params{RepeatPenalty: 2}, []float32{1, -2, 0.5, 1.5}},
		// Window of the last 2 ids (7 out of range, -2 invalid): nothing.
		// Wider windows take in 3, then 0, then 1.
		{"repeat window 2", Params{RepeatPenalty: 2, RepeatLastN: 2}, []float32{2, -1, 0.5, 3}},
		{"repeat window 3", Params{RepeatPenalty: 2, RepeatLastN: 3}, []float32{2, -1, 0.5, 1.5}},
		{"repeat window 4", Params{RepeatPenalty: 2, RepeatLastN: 4}, []float32{1, -1, 0.5, 1.5}},
		{"repeat window 5", Params{RepeatPenalty: 2, RepeatLastN: 5}, []float32{1, -2, 0.5, 1.5}},
		{"repeat whole history", Params{RepeatPenalty: 2, RepeatLastN: -1}, []float32{1, -2, 0.5, 1.5}},
		{"repeat penalty 1 is off", Params{RepeatPenalty: 1}, []float32{2, -1, 0.5, 3}},
		// Presence once per distinct id, frequency per occurrence (id 0 twice).
		{"presence and frequency", Params{PresencePenalty: 0.5, FrequencyPenalty: 0.25}, []float32{2 - 0.5 - 0.5, -1 - 0.25 - 0.5, 0.5, 3 - 0.25 - 0.5}},
		// Repeat first, then the OpenAI penalties.
		{"all", Params{RepeatPenalty: 2, PresencePenalty: 0.5, FrequencyPenalty: 0.25}, []float32{0, -2.75, 0.5, 0.75}},
		{"negative presence rewards", Params{PresencePenalty: -1}, []float32{3, 0, 0.5, 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(tt.p)
			c := s.load(logits)
			s.applyPenalties(c, hist)
			got := make([]float32, len(c))
			for i, x := range c {
				if int(x.id) != i {
					t.Fatalf("candidate %d has id %d: order changed", i, x.id)
				}
				got[i] = x.logit
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("penalized logits (-want +got):\n%s", diff)
			}
			for id, n := range s.counts {
				if n != 0 {
					t.Errorf("counts[%d] = %d after the call, want 0", id, n)
				}
			}
		})
	}
}

func TestSelectTop(t *testing.T) {
	// Adversarial-ish inputs: sorted, reversed, all equal, organ pipe.
	n := 1000
	inputs := map[string]func(i int) float32{
		"ascending":  func(i int) float32 { return float32(i) },
		"descending": func(i int) float32 { return float32(-i) },
		"equal":      func(int) float32 { return 1 },
		"organ pipe": func(i int) float32 { return float32(min(i, n-i)) },
		"few values": func(i int) float32 { return float32(i % 3) },
	}
	for name, f := range inputs {
		for _, k := range []int{1, 2, 17, 500, 999} {
			c := make([]candidate, n)
			for i := range c {
				c[i] = candidate{int32(i), f(i)}
			}
			selectTop(c, k)
			// Every kept candidate comes before every dropped one.
			worstKept := c[0]
			for _, x := range c[:k] {
				if before(worstKept, x) {
					worstKept = x
				}
			}
			for _, x := range c[k:] {
				if before(x, worstKept) {
					t.Errorf("%s k=%d: dropped %+v comes before kept %+v", name, k, x, worstKept)
					break
				}
			}
		}
	}
}
