package sample

import (
	"math"
	"math/rand/v2"
	"slices"
)

// DefaultRepeatLastN is the repetition-penalty window used when
// Params.RepeatLastN is zero (llama.cpp's default).
const DefaultRepeatLastN = 64

// pcgStream is the second PCG seed word; the first is Params.Seed. It is a
// fixed constant so that a seed names one reproducible token stream.
const pcgStream = 0x9e3779b97f4a7c15

// Params configures a Sampler. The zero value is greedy decoding with no
// penalties.
type Params struct {
	// Temperature divides the logits before the draw; <= 0 means greedy
	// (the most likely token, ties going to the lowest id).
	Temperature float32
	// TopP keeps the smallest set of most likely tokens whose probability
	// (at temperature 1) reaches TopP; 0 or >= 1 disables it.
	TopP float32
	// MinP drops tokens whose probability (at temperature 1) is below MinP
	// times that of the most likely token; <= 0 disables it.
	MinP float32
	// TopK keeps the TopK most likely tokens; <= 0 disables it.
	TopK int
	// RepeatPenalty penalizes every token that occurs in the last
	// RepeatLastN tokens of the history, llama.cpp style: a positive logit
	// is divided by it, a negative one multiplied. 0 and 1 disable it.
	RepeatPenalty float32
	// PresencePenalty is subtracted once from the logit of every token that
	// occurs in the history (OpenAI semantics).
	PresencePenalty float32
	// FrequencyPenalty is subtracted from a token's logit once per
	// occurrence in the history (OpenAI semantics).
	FrequencyPenalty float32
	// RepeatLastN is the repetition-penalty window: 0 means
	// DefaultRepeatLastN, a negative value the whole history.
	RepeatLastN int
	// Seed selects the random stream: the generator is PCG (math/rand/v2)
	// seeded with (Seed, 0x9e3779b97f4a7c15). Equal seeds give equal draws.
	Seed uint64
}

// candidate is one token still in the running, with its (adjusted) logit.
type candidate struct {
	id    int32
	logit float32
}

// Sampler draws tokens according to its Params. It keeps scratch buffers
// sized to the vocabulary, so it is not safe for concurrent use; use one
// Sampler per sequence.
type Sampler struct {
	p    Params
	rng  *rand.Rand
	cand []candidate // (n_vocab) working set, a prefix of it after filtering
	// counts (n_vocab) counts occurrences during penalty application; it is
	// all zeros between calls.
	counts []int32
	drawer Drawer
	dist   []TokenProb // (n_vocab) the final distribution handed to drawer
}

// New returns a Sampler for p.
func New(p Params) *Sampler {
	return &Sampler{p: p, rng: rand.New(rand.NewPCG(p.Seed, pcgStream))}
}

// Params returns the parameters the Sampler was made with.
func (s *Sampler) Params() Params { return s.p }

// Sample returns the next token id for logits (n_vocab), given the tokens
// seen so far (history), which the penalties consult. The caller decides
// what history holds (the generated tokens, or the prompt too); ids outside
// [0, n_vocab) in it are ignored. logits is not modified. NaN logits are
// never chosen. Sample returns -1 only when logits is empty.
func (s *Sampler) Sample(logits []float32, history []int) int {
	n := len(logits)
	if n == 0 {
		return -1
	}
	if s.p.Temperature <= 0 && !s.penalized() {
		return argmax(logits)
	}
	c := s.load(logits)
	s.applyPenalties(c, history)
	if s.p.Temperature <= 0 || s.p.TopK == 1 {
		return int(best(c).id)
	}
	if k := s.p.TopK; k > 0 && k < len(c) {
		selectTop(c, k)
		c = c[:k]
	}
	if p := s.p.TopP; p > 0 && p < 1 {
		c = topP(c, float64(p))
	}
	if p := s.p.MinP; p > 0 {
		c = minP(c, float64(p))
	}
	return s.draw(c, float64(s.p.Temperature))
}

// penalized reports whether any penalty is active.
func (s *Sampler) penalized() bool {
	return s.repeatActive() || s.p.PresencePenalty != 0 || s.p.FrequencyPenalty != 0
}

func (s *Sampler) repeatActive() bool {
	return s.p.RepeatPenalty > 0 && s.p.RepeatPenalty != 1
}

// load copies logits into the candidate buffer in id order, growing the
// buffers on the first call (or a larger vocabulary), and maps NaN to -Inf.
func (s *Sampler) load(logits []float32) []candidate {
	n := len(logits)
	if cap(s.cand) < n {
		s.cand = make([]candidate, n)
		s.counts = make([]int32, n)
	}
	c := s.cand[:n]
	for i, l := range logits {
		if l != l {
			l = float32(math.Inf(-1))
		}
		c[i] = candidate{int32(i), l}
	}
	return c
}

// applyPenalties adjusts c, still in id order, for the tokens in history.
// The repetition penalty comes first, then presence and frequency, as in
// llama.cpp's penalties sampler.
func (s *Sampler) applyPenalties(c []candidate, history []int) {
	n := len(c)
	counts := s.counts[:n]
	valid := func(id int) bool { return id >= 0 && id < n }
	if s.repeatActive() {
		window := history
		if last := s.p.RepeatLastN; last >= 0 {
			if last == 0 {
				last = DefaultRepeatLastN
			}
			if len(window) > last {
				window = window[len(window)-last:]
			}
		}
		rp := s.p.RepeatPenalty
		for _, id := range window {
			if !valid(id) || counts[id] != 0 {
				continue
			}
			counts[id] = 1
			if l := c[id].logit; l <= 0 {
				c[id].logit = l * rp
			} else {
				c[id].logit = l / rp
			}
		}
		for _, id := range window {
			if valid(id) {
				counts[id] = 0
			}
		}
	}
	pp, fp := s.p.PresencePenalty, s.p.FrequencyPenalty
	if pp == 0 && fp == 0 {
		return
	}
	for _, id := range history {
		if valid(id) {
			counts[id]++
		}
	}
	// Each distinct id is penalized once, when its count is first seen, and
	// its count is cleared so the buffer is all zeros again afterwards.
	for _, id := range history {
		if !valid(id) || counts[id] == 0 {
			continue
		}
		c[id].logit -= float32(float32(counts[id])*fp) + pp // rounded: the same on every platform
		counts[id] = 0
	}
}

// draw samples one candidate from softmax(logit/temp) over c.
func (s *Sampler) draw(c []candidate, temp float64) int {
	top := best(c)
	maxl := float64(top.logit)
	if math.IsInf(maxl, 0) {
		// All -Inf (nothing is likely) or a +Inf (certain): no softmax.
		return int(top.id)
	}
	var sum float64
	invTemp := 1 / temp
	for i := range c {
		w := weight(c[i].logit, maxl, invTemp)
		c[i].logit = float32(w) // the weight replaces the logit from here on
		sum += w
	}
	if s.drawer != nil {
		if id, ok := s.drawWith(c, sum); ok {
			return id
		}
	}
	u := s.rng.Float64() * sum
	last := top.id
	for _, x := range c {
		if x.logit == 0 {
			continue
		}
		last = x.id
		u -= float64(x.logit)
		if u < 0 {
			return int(x.id)
		}
	}
	return int(last) // rounding left u just above zero
}

// argmax returns the index of the largest logit, the lowest on ties,
// skipping NaN; 0 when every logit is NaN.
func argmax(logits []float32) int {
	bi := -1
	var bl float32
	for i, l := range logits {
		if l != l {
			continue
		}
		if bi < 0 || l > bl {
			bi, bl = i, l
		}
	}
	if bi < 0 {
		return 0
	}
	return bi
}

// best returns the highest candidate in c (non-empty), the lowest id on ties.
func best(c []candidate) candidate {
	b := c[0]
	for _, x := range c[1:] {
		if before(x, b) {
			b = x
		}
	}
	return b
}

// before orders candidates by logit descending, then id ascending, a total
// order that makes every selection deterministic.
func before(a, b candidate) bool {
	return a.logit > b.logit || (a.logit == b.logit && a.id < b.id)
}

func compareCandidates(a, b candidate) int {
	switch {
	case before(a, b):
		return -1
	case before(b, a):
		return 1
	}
	return 0
}

// topP keeps the smallest set of most likely candidates whose probability
// mass reaches p (at least one token), and returns it as a prefix of c, in no
// particular order. Rather than sorting, it partitions c around pivots as
// quickselect does and descends into the side that holds the crossing point,
// so it costs O(len(c)) on average even when the nucleus holds thousands.
func topP(c []candidate, p float64) []candidate {
	maxl := float64(best(c).logit)
	if math.IsInf(maxl, 0) {
		return c
	}
	mass := func(c []candidate) float64 {
		var m float64
		for _, x := range c {
			m += weight(x.logit, maxl, 1)
		}
		return m
	}
	target := p * mass(c)
	// Invariant: c[:lo] are kept, with mass acc < target; the candidate that
	// crosses target lies in c[lo:hi].
	lo, hi, acc := 0, len(c), 0.0
	for budget := 2 * bitLen(len(c)); hi-lo > 16 && budget > 0; budget-- {
		piv := lo + partition(c[lo:hi])
		left := acc + mass(c[lo:piv])
		if left >= target {
			hi = piv
			continue
		}
		if left+weight(c[piv].logit, maxl, 1) >= target {
			return c[:piv+1]
		}
		lo, acc = piv+1, left+weight(c[piv].logit, maxl, 1)
	}
	slices.SortFunc(c[lo:hi], compareCandidates)
	for i := lo; i < hi; i++ {
		acc += weight(c[i].logit, maxl, 1)
		if acc >= target {
			return c[:i+1]
		}
	}
	return c[:hi] // rounding kept acc a hair below target
}

// minP keeps, in order, the candidates whose probability is at least p times
// the largest: logit >= max + ln(p). The most likely token always stays,
// even for p > 1.
func minP(c []candidate, p float64) []candidate {
	maxl := float64(best(c).logit)
	threshold := min(maxl+math.Log(p), maxl)
	out := c[:0]
	for _, x := range c {
		if float64(x.logit) >= threshold {
			out = append(out, x)
		}
	}
	return out
}

// negligible is the scaled logit gap below which a token's weight is taken as
// zero: e^-40 < 4.3e-18, so even 10^6 such tokens move the total mass (at
// least 1, from the top token) by under 1e-11, and math.Exp is skipped for
// the bulk of a real vocabulary.
const negligible = -40

// weight returns e^((l-maxl)*invTemp), the unnormalized probability of logit
// l, or 0 when that is negligible.
func weight(l float32, maxl, invTemp float64) float64 {
	d := (float64(l) - maxl) * invTemp
	if d < negligible {
		return 0
	}
	return math.Exp(d)
}
