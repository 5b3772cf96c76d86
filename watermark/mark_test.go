package watermark

import (
	"math"
	"math/rand/v2"
	"testing"
)

// naiveGumbel is the plain reference for Window.Gumbel: argmax of ln(u)/p.
func naiveGumbel(w Window, ids []int, weights []float64) int {
	best, bs := -1, math.Inf(-1)
	for i, id := range ids {
		if p := weights[i]; p > 0 {
			if s := math.Log(w.U(id)) / p; best < 0 || s > bs {
				best, bs = i, s
			}
		}
	}
	return best
}

func TestGumbelMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	win := newWindower(testKey(Gumbel, 6).Secret)
	for trial := range 2000 {
		n := 1 + rng.IntN(300)
		ids := make([]int, n)
		weights := make([]float64, n)
		temp := 0.2 + 3*rng.Float64()
		for i := range ids {
			ids[i] = rng.IntN(150000)
			weights[i] = math.Exp(rng.NormFloat64() * 3 / temp)
			if rng.IntN(10) == 0 {
				weights[i] = 0
			}
		}
		w := win.window([]int{trial})
		if got, want := w.Gumbel(ids, weights), naiveGumbel(w, ids, weights); got != want {
			t.Fatalf("trial %d: Gumbel = %d, reference %d", trial, got, want)
		}
	}
	if got := (Window{}).Gumbel([]int{1, 2}, []float64{0, math.NaN()}); got != -1 {
		t.Errorf("no positive weight: got %d, want -1", got)
	}
}

// Over many windows, Gumbel's choice follows the distribution exactly.
func TestGumbelDistortionFree(t *testing.T) {
	weights := []float64{0.5, 0.25, 0.15, 0.07, 0.03}
	ids := []int{10, 20, 30, 40, 50}
	mk := NewMarker(testKey(Gumbel, 7))
	const n = 200000
	counts := make([]int, len(ids))
	for i := range n {
		counts[mk.Choose([]int{i, i >> 8, 1, 2}, ids, weights)]++
	}
	var chi2 float64
	for i, c := range counts {
		e := n * weights[i]
		chi2 += (float64(c) - e) * (float64(c) - e) / e
	}
	// 4 degrees of freedom: P(chi2 > 30) < 5e-6.
	t.Logf("counts %v over %d draws, chi-square %.2f (fail above 30)", counts, n, chi2)
	if chi2 > 30 {
		t.Errorf("Gumbel choice departs from the distribution: chi-square %.2f", chi2)
	}
}

// Green, computed on the integer, agrees with U(id) < gamma.
func TestGreenLimit(t *testing.T) {
	w := newWindower(testKey(RedGreen, 30).Secret).window([]int{1})
	for _, gamma := range []float64{0.25, 0.5, 0.1, 1e-9, 0.999999, 0x1p-52, 3 * 0x1p-53} {
		for id := range 20000 {
			if got, want := w.Green(id, gamma), w.U(id) < gamma; got != want {
				t.Fatalf("gamma %g, id %d: Green %v, U < gamma %v", gamma, id, got, want)
			}
		}
		lim := greenLimit(gamma)
		if u := float64(2*lim+1) * unit; u < gamma || lim > 0 && float64(2*lim-1)*unit >= gamma {
			t.Errorf("gamma %g: limit %d is not the boundary", gamma, lim)
		}
	}
}

func TestBiasGreen(t *testing.T) {
	k := testKey(RedGreen, 8)
	mk := NewMarker(k)
	hist := []int{5, 6, 7, 8, 9}
	logits := make([]float32, 100000)
	mk.Bias(hist, logits)
	w := mk.Window(hist)
	green := 0
	for id, l := range logits {
		want := float32(0)
		if w.Green(id, k.Gamma) {
			want = float32(k.Delta)
			green++
		}
		if l != want {
			t.Fatalf("id %d: logit %v, want %v", id, l, want)
		}
	}
	// Binomial(1e5, 0.25): sd 137.
	if frac := float64(green) / float64(len(logits)); math.Abs(frac-k.Gamma) > 0.006 {
		t.Errorf("green fraction %.4f, want %.2f ± 0.006", frac, k.Gamma)
	}
	if got := mk.Choose(hist, []int{1}, []float64{1}); got != -1 {
		t.Errorf("redgreen Choose = %d, want -1 (the sampler draws)", got)
	}
	g := NewMarker(testKey(Gumbel, 9))
	before := append([]float32(nil), logits...)
	g.Bias(hist, logits)
	for i := range logits {
		if logits[i] != before[i] {
			t.Fatalf("gumbel Bias changed logit %d", i)
		}
	}
}

// The window is the last Context tokens of the history.
func TestMarkerWindow(t *testing.T) {
	mk := NewMarker(testKey(Gumbel, 10))
	if mk.Window([]int{1, 2, 3, 4, 5}) != mk.Window([]int{9, 9, 2, 3, 4, 5}) {
		t.Error("windows with the same last 4 tokens differ")
	}
	if mk.Window([]int{1, 2, 3, 4, 5}) == mk.Window([]int{1, 2, 3, 4, 6}) {
		t.Error("windows with different last tokens agree")
	}
	_ = mk.Window(nil) // a history shorter than the context is fine
}

// WindowAfter(prompt, output) is Window of the two joined.
func TestWindowAfter(t *testing.T) {
	mk := NewMarker(testKey(Gumbel, 31))
	for _, tt := range []struct{ prompt, output []int }{
		{[]int{1, 2, 3, 4, 5}, nil}, {[]int{1, 2, 3}, []int{4, 5}}, {nil, []int{1, 2, 3, 4, 5, 6}},
		{[]int{9}, []int{1}}, {nil, nil}, {[]int{7, 7, 7, 7, 7, 7}, []int{8, 8, 8}},
	} {
		joined := append(append([]int(nil), tt.prompt...), tt.output...)
		if mk.WindowAfter(tt.prompt, tt.output) != mk.Window(joined) {
			t.Errorf("WindowAfter(%v, %v) differs from Window(%v)", tt.prompt, tt.output, joined)
		}
	}
}
