package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/qilin-ai/qilin/engine"
	"github.com/qilin-ai/qilin/internal/testdata"
	"github.com/qilin-ai/qilin/tokenizer"
	"github.com/qilin-ai/qilin/watermark"
)

// storyGenerator samples a story model at temperature 1 through the
// engine's Sequence API, applying a watermark Marker the way the engine's
// per-request hook does: Bias on the logits, then Choose from the final
// distribution (here: the whole vocabulary at temperature 1, no filters).
type storyGenerator struct {
	e       *engine.Engine
	ids     []int     // (n_vocab) 0..n_vocab-1
	weights []float64 // (n_vocab)
	logits  []float32 // (n_vocab) scratch
	normal  []int     // ids of the normal (text) tokens
}

// storyAttacks are what TestWatermarkStoryModel does to marked answers
// before detecting them again: random tokens in place of a share of them
// (an attacker who edits without knowing the key), or a cut.
var storyAttacks = []struct {
	name string
	f    func(rng *rand.Rand, toks, normal []int) []int
}{
	{"10% of tokens replaced", func(rng *rand.Rand, toks, normal []int) []int { return replaceTokens(rng, toks, normal, 0.10) }},
	{"25% replaced", func(rng *rand.Rand, toks, normal []int) []int { return replaceTokens(rng, toks, normal, 0.25) }},
	{"40% replaced", func(rng *rand.Rand, toks, normal []int) []int { return replaceTokens(rng, toks, normal, 0.40) }},
	{"cut to 50 tokens", func(_ *rand.Rand, toks, _ []int) []int { return toks[:50] }},
}

func replaceTokens(rng *rand.Rand, toks, normal []int, frac float64) []int {
	out := append([]int(nil), toks...)
	for _, i := range rng.Perm(len(out))[:int(math.Round(frac*float64(len(out))))] {
		out[i] = normal[rng.IntN(len(normal))]
	}
	return out
}

func newStoryGenerator(t testing.TB, name string) *storyGenerator {
	e, err := engine.Load(testdata.Path(t, "models", name), engine.Options{Threads: 1, Context: 512})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	n := e.Model.NVocab
	g := &storyGenerator{e: e, ids: make([]int, n), weights: make([]float64, n), logits: make([]float32, n)}
	for i := range g.ids {
		g.ids[i] = i
		if e.Tok.TokenType(i) == tokenizer.TypeNormal {
			g.normal = append(g.normal, i)
		}
	}
	return g
}

// answer returns n tokens after a story opening: BOS, "Once upon a time"
// and 6 unmarked tokens drawn with rng (so that answers differ), then n
// tokens drawn with mk (unmarked when mk is nil). End-of-generation tokens
// are masked, so every answer has n tokens.
func (g *storyGenerator) answer(t testing.TB, rng *rand.Rand, mk *watermark.Marker, n int) []int {
	prompt, err := g.e.Tok.Encode("Once upon a time", true, false)
	if err != nil {
		t.Fatal(err)
	}
	seq := g.e.NewSequence()
	hist := append([]int(nil), prompt...)
	var last []float32
	step := func(toks []int) {
		if err := seq.Eval(toks, false, func(_ int, l []float32) { last = l }); err != nil {
			t.Fatal(err)
		}
	}
	step(prompt)
	for i := 0; i < 6+n; i++ {
		var m *watermark.Marker
		if i >= 6 {
			m = mk
		}
		tok := g.next(rng, m, hist, last)
		hist = append(hist, tok)
		step([]int{tok})
	}
	return hist[len(prompt)+6:]
}

func (g *storyGenerator) next(rng *rand.Rand, mk *watermark.Marker, hist []int, raw []float32) int {
	l := g.logits
	copy(l, raw)
	if mk != nil {
		mk.Bias(hist, l)
	}
	maxl := float32(math.Inf(-1))
	for _, x := range l {
		maxl = max(maxl, x)
	}
	var sum float64
	for i, x := range l {
		w := math.Exp(float64(x - maxl))
		if g.e.Tok.IsEOG(i) {
			w = 0
		}
		g.weights[i] = w
		sum += w
	}
	if mk != nil {
		if c := mk.Choose(hist, g.ids, g.weights); c >= 0 {
			return c
		}
	}
	u := rng.Float64() * sum
	for i, w := range g.weights {
		if u -= w; u < 0 {
			return i
		}
	}
	return len(g.weights) - 1
}

// storyTexts is how many answers per case TestWatermarkStoryModel draws:
// QILIN_WATERMARK_STORIES, else 30 (200 for the figures in
// docs/provenance.md).
func storyTexts(t *testing.T) int {
	if s := os.Getenv("QILIN_WATERMARK_STORIES"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("QILIN_WATERMARK_STORIES=%q: want a positive count", s)
		}
		return n
	}
	if testing.Short() {
		return 10
	}
	return 30
}

// seededKey returns a key of the default context width whose secret comes
// from rng, so that a test run repeats exactly.
func seededKey(rng *rand.Rand, scheme watermark.Scheme) watermark.Key {
	secret := make([]byte, watermark.SecretBytes)
	for i := range secret {
		secret[i] = byte(rng.Uint32())
	}
	k := watermark.Key{ID: "test", Scheme: scheme, Secret: secret, Context: watermark.DefaultContext}
	if err := k.Validate(); err != nil {
		panic(err)
	}
	return k
}

// TestWatermarkStoryModel is the goal on real models: 200-token
// answers sampled at temperature 1, decoded to text, retokenized and
// detected as `qilin watermark detect` does. With the default scheme
// (gumbel) at least 95% must be detected at p < 1e-6; a redgreen mark must
// be in the generated tokens (>= 80% detected before retokenization: on
// TinyStories-656K, whose tokenizer has no merge scores, retokenizing
// rewrites many of the green tokens the bias chose, see docs/provenance.md).
// Unmarked answers, each tested against 20 keys, must not be detected more
// often than the threshold allows.
func TestWatermarkStoryModel(t *testing.T) {
	texts := storyTexts(t)
	var table, robust strings.Builder
	fmt.Fprintf(&robust, "| model | scheme |")
	for _, a := range storyAttacks {
		fmt.Fprintf(&robust, " %s |", a.name)
	}
	fmt.Fprintf(&robust, "\n| --- | --- |%s\n", strings.Repeat(" ---: |", len(storyAttacks)))
	fmt.Fprintf(&table, "| model | scheme | answers | detected (text) | detected (tokens as generated) | median p (text) | unmarked answers x keys | false positives at 1e-2 / 1e-6 |\n| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, model := range []string{"TinyStories-656K-Q8_0.gguf", "stories260K.gguf"} {
		g := newStoryGenerator(t, model)
		rng := rand.New(rand.NewPCG(2026, 12))
		attackRNG := rand.New(rand.NewPCG(2026, 13)) // apart, so the answers do not depend on the attacks
		detect := func(toks []int, keys []watermark.Key) watermark.Result {
			ids, err := g.e.Tok.Encode(g.e.Tok.Decode(toks), false, false)
			if err != nil {
				t.Fatal(err)
			}
			return watermark.Detect(ids, keys, watermark.Options{})
		}
		for _, scheme := range []watermark.Scheme{watermark.Gumbel, watermark.RedGreen} {
			k := seededKey(rng, scheme)
			hits, tokHits := 0, 0
			attackHits := make([]int, len(storyAttacks))
			var logps []float64
			for range texts {
				toks := g.answer(t, rng, watermark.NewMarker(k), 200)
				r := detect(toks, []watermark.Key{k})
				if r.Detected {
					hits++
				}
				for i, a := range storyAttacks {
					if detect(a.f(attackRNG, toks, g.normal), []watermark.Key{k}).Detected {
						attackHits[i]++
					}
				}
				if watermark.Detect(toks, []watermark.Key{k}, watermark.Options{}).Detected {
					tokHits++
				}
				logps = append(logps, r.LogPValue)
			}
			// False positives: unmarked answers, each tested against 20 keys
			// one at a time (20 independent tests per answer).
			fp2, fp6, trials := 0, 0, 0
			for range max(1, texts/2) {
				toks := g.answer(t, rng, nil, 200)
				for range 20 {
					ck := seededKey(rng, scheme)
					r := detect(toks, []watermark.Key{ck})
					trials++
					if r.PValue < 1e-2 {
						fp2++
					}
					if r.Detected {
						fp6++
					}
				}
			}
			fmt.Fprintf(&table, "| %s | %s | %d | %.1f%% | %.1f%% | %.2g | %d | %d / %d |\n", strings.TrimSuffix(model, ".gguf"), scheme, texts,
				100*float64(hits)/float64(texts), 100*float64(tokHits)/float64(texts), math.Exp(median(logps)), trials, fp2, fp6)
			fmt.Fprintf(&robust, "| %s | %s |", strings.TrimSuffix(model, ".gguf"), scheme)
			for _, h := range attackHits {
				fmt.Fprintf(&robust, " %.1f%% |", 100*float64(h)/float64(texts))
			}
			robust.WriteByte('\n')
			if scheme == watermark.Gumbel && hits*100 < 95*texts {
				t.Errorf("%s, %s: %d/%d marked answers detected, want >= 95%%", model, scheme, hits, texts)
			}
			if tokHits*100 < 80*texts {
				t.Errorf("%s, %s: %d/%d marked answers detected before retokenizing, want >= 80%%", model, scheme, tokHits, texts)
			}
			if watermark.LogBinomialTail(trials, fp2, 1e-2) < math.Log(1e-6) || fp6 > 0 && watermark.LogBinomialTail(trials, fp6, 1e-6) < math.Log(1e-6) {
				t.Errorf("%s, %s: %d and %d false positives at 1e-2 and 1e-6 in %d unmarked trials: above the nominal rate", model, scheme, fp2, fp6, trials)
			}
		}
	}
	t.Logf("temperature 1, 200-token answers, %d per case:\n%s", texts, table.String())
	t.Logf("detection at p < 1e-6 after attacks on the tokens (then decoded and retokenized):\n%s", robust.String())
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	for i := range s { // insertion sort: a few hundred values
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	return s[len(s)/2]
}
