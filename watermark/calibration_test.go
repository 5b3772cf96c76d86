package watermark

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
)

// calibrationAlphas are the thresholds whose false-positive rates are
// checked and tabled.
var calibrationAlphas = []float64{1e-1, 1e-2, 1e-3, 1e-4}

// fprCounts counts, for each alpha, how many of the p-values are below it.
type fprCounts struct {
	n      int
	counts []int
}

func (f *fprCounts) add(p float64) {
	if f.counts == nil {
		f.counts = make([]int, len(calibrationAlphas))
	}
	f.n++
	for i, a := range calibrationAlphas {
		if p < a {
			f.counts[i]++
		}
	}
}

// check fails t when a count is too high for Binomial(n, alpha) at the
// 1e-6 level, or, when exact (a continuous test), too low.
func (f *fprCounts) check(t *testing.T, what string, exact bool) {
	t.Helper()
	for i, a := range calibrationAlphas {
		c := f.counts[i]
		if LogBinomialTail(f.n, c, a) < math.Log(1e-6) {
			t.Errorf("%s: %d of %d below %g: too many for the nominal rate", what, c, f.n, a)
		}
		if exact && c > 0 && LogBinomialTail(f.n, f.n-c+1, 1-a) < math.Log(1e-6) {
			t.Errorf("%s: %d of %d below %g: too few for an exact test", what, c, f.n, a)
		}
	}
}

func (f *fprCounts) row() string {
	var sb strings.Builder
	for i, a := range calibrationAlphas {
		fmt.Fprintf(&sb, " %.2g (%d) |", float64(f.counts[i])/float64(f.n), int(math.Round(a*float64(f.n))))
	}
	return sb.String()
}

// TestCalibration measures false positives on text that does not carry the
// key: unmarked samples, text marked with other keys, text from another
// model, and repetitive text. Each source gives calibrationTexts texts of
// 200 tokens, each tested with its own random key. The raw whole-text
// p-value must be uniform (gumbel: exact; redgreen: at most nominal, the
// binomial being discrete), and the decision p-value (span search, several
// keys) at most nominal. Run with -v for the table in docs/provenance.md.
func TestCalibration(t *testing.T) {
	texts := textsFromEnv(2000, 10000)
	other := newSimLM(1000, 200, 0.6) // flatter: "another writer"
	sources := []struct {
		name string
		gen  func(rng *rand.Rand, k Key) []int
	}{
		{"unmarked samples", func(rng *rand.Rand, k Key) []int {
			return defaultLM.generate(rng, defaultLM.randomPrompt(rng), 200, nil)
		}},
		{"marked with another key", func(rng *rand.Rand, k Key) []int {
			wrong := randomKey(rng, k.Scheme)
			return defaultLM.generate(rng, defaultLM.randomPrompt(rng), 200, NewMarker(wrong))
		}},
		{"another model", func(rng *rand.Rand, k Key) []int {
			return other.generate(rng, other.randomPrompt(rng), 200, nil)
		}},
		{"repetitive (10-token loops)", func(rng *rand.Rand, k Key) []int {
			loop := defaultLM.generate(rng, defaultLM.randomPrompt(rng), 10, nil)
			var toks []int
			for len(toks) < 200 {
				toks = append(toks, loop...)
				if rng.IntN(3) == 0 { // an occasional variation
					toks = append(toks, rng.IntN(defaultLM.vocab))
				}
			}
			return toks[:200]
		}},
	}
	var table strings.Builder
	fmt.Fprintf(&table, "| text (%d of 200 tokens each) | scheme | p-value | FPR at 0.1 (expected) | 0.01 | 0.001 | 0.0001 |\n| --- | --- | --- | ---: | ---: | ---: | ---: |\n", texts)
	for si, src := range sources {
		for _, scheme := range []Scheme{Gumbel, RedGreen} {
			rng := rand.New(rand.NewPCG(uint64(si), uint64(len(scheme))))
			var raw, decision, multi fprCounts
			for range texts {
				k := randomKey(rng, scheme)
				toks := src.gen(rng, k)
				sc := ScoreText(toks, k)
				raw.add(math.Exp(logTail(k, len(sc.S), sumScores(sc.S))))
				decision.add(Test(sc, len(toks), Options{}).PValue)
				multi.add(Detect(toks, []Key{k, randomKey(rng, Gumbel), randomKey(rng, RedGreen)}, Options{}).PValue)
			}
			what := src.name + ", " + string(scheme)
			raw.check(t, what+", raw", scheme == Gumbel && si != 3)
			decision.check(t, what+", decision", false)
			multi.check(t, what+", 3 keys", false)
			fmt.Fprintf(&table, "| %s | %s | whole text, 1 key |%s\n", src.name, scheme, raw.row())
			fmt.Fprintf(&table, "| %s | %s | with span search |%s\n", src.name, scheme, decision.row())
			fmt.Fprintf(&table, "| %s | %s | with span search, 3 keys |%s\n", src.name, scheme, multi.row())
		}
	}
	t.Logf("false-positive rates (expected count at the nominal rate in parentheses):\n%s", table.String())
}

// TestRobustness measures how often 200-token marked texts are still
// detected at p < 1e-6 after random token substitution and truncation.
// Run with -v for the table in docs/provenance.md.
func TestRobustness(t *testing.T) {
	texts := textsFromEnv(200, 500)
	attacks := []struct {
		name string
		f    func(rng *rand.Rand, toks []int) []int
	}{
		{"none", func(_ *rand.Rand, toks []int) []int { return toks }},
		{"10% of tokens replaced", func(rng *rand.Rand, toks []int) []int { return substitute(rng, toks, 0.10, defaultLM.vocab) }},
		{"25% replaced", func(rng *rand.Rand, toks []int) []int { return substitute(rng, toks, 0.25, defaultLM.vocab) }},
		{"40% replaced", func(rng *rand.Rand, toks []int) []int { return substitute(rng, toks, 0.40, defaultLM.vocab) }},
		{"cut to 50 tokens", func(_ *rand.Rand, toks []int) []int { return toks[:50] }},
	}
	var table strings.Builder
	fmt.Fprintf(&table, "| scheme | context | %s |\n| --- | ---: |%s\n", joinNames(attacks, func(a struct {
		name string
		f    func(rng *rand.Rand, toks []int) []int
	}) string {
		return a.name
	}), strings.Repeat(" ---: |", len(attacks)))
	for _, tc := range []struct {
		scheme  Scheme
		context int
	}{{Gumbel, 4}, {RedGreen, 4}, {Gumbel, 1}, {RedGreen, 1}} {
		scheme := tc.scheme
		rng := rand.New(rand.NewPCG(99, uint64(len(scheme))))
		hits := make([]int, len(attacks))
		for range texts {
			k := randomKey(rng, scheme)
			k.Context = tc.context
			toks := defaultLM.generate(rng, defaultLM.randomPrompt(rng), 200, NewMarker(k))
			for i, a := range attacks {
				if Detect(a.f(rng, toks), []Key{k}, Options{}).Detected {
					hits[i]++
				}
			}
		}
		fmt.Fprintf(&table, "| %s | %d |", scheme, tc.context)
		for _, h := range hits {
			fmt.Fprintf(&table, " %.1f%% |", 100*float64(h)/float64(texts))
		}
		table.WriteByte('\n')
		// Context 1 is there for comparison: with it Gumbel makes the same
		// choice whenever a token recurs under the same distribution, and
		// this bigram model's text falls into loops that dedup discards.
		if tc.context == DefaultContext && hits[0] < texts*95/100 {
			t.Errorf("%s, context %d: %d/%d unattacked texts detected, want >= 95%%", scheme, tc.context, hits[0], texts)
		}
		for i := 1; i < 4; i++ {
			if hits[i] > hits[i-1]+texts/50 {
				t.Errorf("%s, context %d: more detections after %s (%d) than after %s (%d)", scheme, tc.context, attacks[i].name, hits[i], attacks[i-1].name, hits[i-1])
			}
		}
	}
	t.Logf("detection rate at p < 1e-6 (%d texts of 200 tokens per scheme, simulated model):\n%s", texts, table.String())
}

func joinNames[T any](xs []T, name func(T) string) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = name(x)
	}
	return strings.Join(s, " | ")
}

// textsFromEnv returns how many texts a measurement uses: def, or full when
// QILIN_WATERMARK_FULL=1 (the figures in docs/provenance.md), or fewer
// under -short.
func textsFromEnv(def, full int) int {
	switch {
	case os.Getenv("QILIN_WATERMARK_FULL") == "1":
		return full
	case testing.Short():
		return def / 4
	}
	return def
}

// randomKey returns a key with a secret drawn from rng (so runs repeat).
func randomKey(rng *rand.Rand, scheme Scheme) Key {
	secret := make([]byte, 32)
	for i := range secret {
		secret[i] = byte(rng.Uint32())
	}
	k := Key{ID: "sim", Scheme: scheme, Secret: secret, Context: DefaultContext}
	if err := k.Validate(); err != nil {
		panic(err)
	}
	return k
}
