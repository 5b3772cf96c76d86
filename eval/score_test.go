package eval

import (
	"math"
	"testing"
)

// passAtKBrute is pass@k by enumeration: the fraction of the k-subsets of
// n samples (the first c correct) holding at least one correct sample.
func passAtKBrute(n, c, k int) float64 {
	hit, all := 0, 0
	for mask := 0; mask < 1<<n; mask++ {
		bits, any := 0, false
		for i := range n {
			if mask&(1<<i) != 0 {
				bits++
				any = any || i < c
			}
		}
		if bits == k {
			all++
			if any {
				hit++
			}
		}
	}
	return float64(hit) / float64(all)
}

func TestPassAtK(t *testing.T) {
	const tol = 1e-12
	t.Logf("tolerance %g", tol)
	for n := 1; n <= 8; n++ {
		for c := 0; c <= n; c++ {
			for k := 1; k <= n; k++ {
				if got, want := PassAtK(n, c, k), passAtKBrute(n, c, k); math.Abs(got-want) > tol {
					t.Errorf("PassAtK(%d, %d, %d) = %v, enumeration gives %v", n, c, k, got, want)
				}
			}
		}
	}
}

func TestWilson(t *testing.T) {
	const tol = 1e-4
	tests := []struct {
		c, n int
		want [2]float64
	}{
		{0, 10, [2]float64{0, 0.2775}},  // z²/(n+z²)
		{10, 10, [2]float64{0.7225, 1}}, // symmetric
		{5, 10, [2]float64{0.2366, 0.7634}},
		{0, 0, [2]float64{0, 1}},
	}
	for _, tt := range tests {
		got := Wilson(tt.c, tt.n)
		if math.Abs(got[0]-tt.want[0]) > tol || math.Abs(got[1]-tt.want[1]) > tol {
			t.Errorf("Wilson(%d, %d) = %v, want %v (±%g)", tt.c, tt.n, got, tt.want, tol)
		}
	}
}

func TestMeanCI(t *testing.T) {
	const tol = 1e-4
	m, ci := MeanCI([]float64{0.2, 0.4, 0.6}) // sd 0.2, se 0.2/√3
	if math.Abs(m-0.4) > tol || math.Abs(ci[0]-0.17368) > tol || math.Abs(ci[1]-0.62632) > tol {
		t.Errorf("MeanCI = %v %v, want 0.4 [0.17368 0.62632] (±%g)", m, ci, tol)
	}
	if _, ci := MeanCI([]float64{0, 1}); ci != [2]float64{0, 1} {
		t.Errorf("clamped MeanCI = %v, want [0 1]", ci)
	}
	if _, ci := MeanCI([]float64{1}); ci != [2]float64{0, 1} {
		t.Errorf("one value: %v, want [0 1]", ci)
	}
}

func TestMajority(t *testing.T) {
	s := func(i int, x string, ok bool) *Sample { return &Sample{Sample: i, Extracted: x, Correct: ok} }
	tests := []struct {
		name string
		ss   []*Sample
		want bool
	}{
		{"plurality right", []*Sample{s(0, "41", false), s(1, "42", true), s(2, "42.0", true)}, true},
		{"plurality wrong", []*Sample{s(0, "41", false), s(1, "42", true), s(2, "41", false)}, false},
		{"tie goes to the first", []*Sample{s(0, "42", true), s(1, "41", false)}, true},
		{"tie goes to the first, wrong", []*Sample{s(0, "41", false), s(1, "42", true)}, false},
		{"no answers are not a vote", []*Sample{s(0, "", false), s(1, "", false), s(2, "42", true)}, true},
		{"nothing", []*Sample{s(0, "", false)}, false},
	}
	for _, tt := range tests {
		if got := majority(tt.ss, Numeric); got != tt.want {
			t.Errorf("%s: majority = %v, want %v", tt.name, got, tt.want)
		}
	}
}
