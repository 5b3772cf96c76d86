package watermark

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDetectMarkedText(t *testing.T) {
	for _, scheme := range []Scheme{Gumbel, RedGreen} {
		t.Run(string(scheme), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(11, 12))
			k := testKey(scheme, 11)
			other := testKey(scheme, 12)
			const texts = 50
			hits, falseHits := 0, 0
			for range texts {
				toks := defaultLM.generate(rng, defaultLM.randomPrompt(rng), 200, NewMarker(k))
				if r := Detect(toks, []Key{k}, Options{}); r.Detected {
					hits++
				}
				if r := Detect(toks, []Key{other}, Options{}); r.Detected {
					falseHits++
				}
			}
			t.Logf("%d/%d marked texts detected, %d detected with another key", hits, texts, falseHits)
			if hits < texts*95/100 || falseHits > 0 {
				t.Errorf("detected %d/%d (want >= 95%%), %d with the wrong key (want 0)", hits, texts, falseHits)
			}
		})
	}
}

// A text that repeats one n-gram scores each (window, token) pair once.
func TestDetectDedup(t *testing.T) {
	k := testKey(Gumbel, 13)
	loop := []int{1, 2, 3, 4, 5, 6}
	var toks []int
	for range 100 {
		toks = append(toks, loop...)
	}
	sc := ScoreText(toks, k)
	// After the first 4 tokens, each position's 5-gram is one of the six
	// rotations of the loop.
	if len(sc.S) != len(loop) {
		t.Errorf("scored %d pairs of a 6-token loop repeated 100 times, want 6", len(sc.S))
	}
	if r := Detect(toks, []Key{k}, Options{}); r.Detected || r.Scored != 6 || r.Tokens != 600 {
		t.Errorf("repeated loop: %+v, want 6 scored of 600 tokens and no detection", r)
	}
}

// A marked stretch in the middle of a long unmarked text is found by the
// span search, and the span covers it.
func TestDetectSpan(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 15))
	k := testKey(Gumbel, 14)
	before := defaultLM.generate(rng, defaultLM.randomPrompt(rng), 800, nil)
	marked := defaultLM.generate(rng, before, 120, NewMarker(k))
	after := defaultLM.generate(rng, append(slices.Clone(before), marked...), 800, nil)
	toks := slices.Concat(before, marked, after)
	r := Detect(toks, []Key{k}, Options{})
	t.Logf("p %.3g, spans %+v (marked: [800, 920))", r.PValue, r.Spans)
	if !r.Detected || len(r.Spans) == 0 {
		t.Fatalf("marked stretch not found: %+v", r)
	}
	s := r.Spans[0]
	if overlap := min(s.End, 920) - max(s.Start, 800); overlap < 60 {
		t.Errorf("span [%d, %d) overlaps the marked [800, 920) by %d tokens, want >= 60", s.Start, s.End, overlap)
	}
	if whole := math.Exp(LogGammaTail(r.Scored, r.Score) + math.Ln2); whole < r.PValue {
		t.Errorf("p-value %g is larger than the whole-text test's %g", r.PValue, whole)
	}
}

// Among several keys the right one is named, and the p-value is multiplied
// by the number of keys.
func TestDetectSeveralKeys(t *testing.T) {
	rng := rand.New(rand.NewPCG(16, 17))
	keys := []Key{testKey(Gumbel, 20), testKey(RedGreen, 21), testKey(Gumbel, 22), testKey(RedGreen, 23)}
	for i, k := range keys {
		toks := defaultLM.generate(rng, defaultLM.randomPrompt(rng), 150, NewMarker(k))
		got := Detect(toks, keys, Options{MinSpan: -1})
		single := Test(ScoreText(toks, k), len(toks), Options{MinSpan: -1})
		if got.KeyID != k.ID || !got.Detected {
			t.Errorf("text marked with key %d: detected %v with %s", i, got.Detected, got.KeyID)
		}
		if d := got.LogPValue - single.LogPValue; math.Abs(d-math.Log(4)) > 1e-9 {
			t.Errorf("key %d: ln p with 4 keys - ln p with 1 = %g, want ln 4", i, d)
		}
	}
}

func TestResultJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(18, 19))
	k := testKey(RedGreen, 24)
	toks := defaultLM.generate(rng, defaultLM.randomPrompt(rng), 100, nil)
	b, err := json.Marshal(Detect(toks, []Key{k}, Options{}))
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]any
	if err := json.Unmarshal(b, &fields); err != nil {
		t.Fatal(err)
	}
	var names []string
	for n := range fields {
		names = append(names, n)
	}
	slices.Sort(names)
	want := []string{"detected", "key_id", "p_value", "scheme", "score", "scored", "spans", "threshold", "tokens", "z"}
	if d := cmp.Diff(want, names); d != "" {
		t.Errorf("JSON fields (-want +got):\n%s", d)
	}
	// An empty text still marshals (no NaN z).
	if _, err := json.Marshal(Detect(nil, []Key{k}, Options{})); err != nil {
		t.Errorf("empty text: %v", err)
	}
}
