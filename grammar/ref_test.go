package grammar

import (
	"slices"
	"unicode/utf8"
)

// refRecognizer is a plain backtracking recognizer over the parsed rules,
// written for the tests only: it reads the GBNF semantics directly (no
// automata, no stacks, no tries) to check the matcher against.
type refRecognizer struct {
	rules      []*rule
	productive []bool // rules that derive some finite string
	in         []byte
	// prefix mode: running out of input inside a terminal that could go on
	// counts as a match (the input is a viable prefix).
	prefix bool
	steps  int
}

const refMaxSteps = 200_000

// refViable reports whether in is a prefix of some string of the grammar.
func refViable(rules []*rule, root int, in []byte) (bool, bool) {
	r := &refRecognizer{rules: rules, productive: productiveRules(rules), in: in, prefix: true}
	ok := r.alts(rules[root].alts, 0, func(p int) bool { return p == len(in) })
	return ok, r.steps < refMaxSteps
}

// refComplete reports whether in is a string of the grammar.
func refComplete(rules []*rule, root int, in []byte) (bool, bool) {
	r := &refRecognizer{rules: rules, productive: productiveRules(rules), in: in}
	ok := r.alts(rules[root].alts, 0, func(p int) bool { return p == len(in) })
	return ok, r.steps < refMaxSteps
}

func (r *refRecognizer) alts(alts [][]*item, pos int, k func(int) bool) bool {
	for _, seq := range alts {
		if r.seq(seq, pos, k) {
			return true
		}
	}
	return false
}

func (r *refRecognizer) seq(items []*item, pos int, k func(int) bool) bool {
	r.steps++
	if r.steps > refMaxSteps {
		return false
	}
	if len(items) == 0 {
		return k(pos)
	}
	return r.repeat(items[0], 0, pos, func(p int) bool { return r.seq(items[1:], p, k) })
}

// repeat matches it repeated (count done so far), then k.
func (r *refRecognizer) repeat(it *item, count, pos int, k func(int) bool) bool {
	if it.max < 0 || count < it.max {
		more := r.single(it, pos, func(p int) bool {
			if p == pos && count >= it.min {
				return false // an empty repetition past the minimum adds nothing
			}
			return r.repeat(it, count+1, p, k)
		})
		if more {
			return true
		}
	}
	return count >= it.min && k(pos)
}

func (r *refRecognizer) single(it *item, pos int, k func(int) bool) bool {
	switch it.kind {
	case itemLiteral:
		for i, c := range it.lit {
			if pos+i == len(r.in) {
				return r.prefix
			}
			if r.in[pos+i] != c {
				return false
			}
		}
		return k(pos + len(it.lit))
	case itemClass, itemAny:
		in := func(c rune) bool {
			if it.kind == itemAny {
				return true
			}
			found := slices.ContainsFunc(it.ranges, func(rg cpRange) bool { return rg.lo <= c && c <= rg.hi })
			return found != it.neg
		}
		if pos == len(r.in) {
			return r.prefix && classNonEmpty(it)
		}
		rest := r.in[pos:]
		if !utf8.FullRune(rest) {
			return r.prefix && partialMatches(rest, in)
		}
		c, n := utf8.DecodeRune(rest)
		if c == utf8.RuneError && n <= 1 || !in(c) {
			return false
		}
		return k(pos + n)
	case itemRef:
		if !r.productive[it.ref] {
			return false // a prefix of no finite string
		}
		return r.alts(r.rules[it.ref].alts, pos, k)
	case itemGroup:
		return r.alts(it.alts, pos, k)
	}
	return false // tokens: not modelled here
}

// productiveRules computes which rules derive some finite string.
func productiveRules(rules []*rule) []bool {
	ok := make([]bool, len(rules))
	var itemOK func(it *item) bool
	altsOK := func(alts [][]*item) bool {
		for _, seq := range alts {
			all := true
			for _, it := range seq {
				all = all && itemOK(it)
			}
			if all {
				return true
			}
		}
		return false
	}
	itemOK = func(it *item) bool {
		if it.min == 0 {
			return true
		}
		switch it.kind {
		case itemRef:
			return ok[it.ref]
		case itemGroup:
			return altsOK(it.alts)
		case itemClass:
			return classNonEmpty(it)
		}
		return true
	}
	for changed := true; changed; {
		changed = false
		for i, r := range rules {
			if !ok[i] && altsOK(r.alts) {
				ok[i], changed = true, true
			}
		}
	}
	return ok
}

// classNonEmpty reports whether a class or "." matches any character.
func classNonEmpty(it *item) bool {
	if it.kind == itemAny || !it.neg {
		return true // the parser refuses empty classes
	}
	covered := rune(0) // all of [0, covered) is excluded
	rs := slices.Clone(it.ranges)
	slices.SortFunc(rs, func(a, b cpRange) int { return int(a.lo - b.lo) })
	for _, rg := range rs {
		if rg.lo > covered && !(covered >= 0xD800 && rg.lo <= 0xE000) {
			return true
		}
		covered = max(covered, rg.hi+1)
	}
	return covered <= utf8.MaxRune
}

// partialMatches reports whether some character in the class has an
// encoding that starts with the incomplete sequence p.
func partialMatches(p []byte, in func(rune) bool) bool {
	n := 0
	switch {
	case p[0] >= 0xC2 && p[0] <= 0xDF:
		n = 2
	case p[0] >= 0xE0 && p[0] <= 0xEF:
		n = 3
	case p[0] >= 0xF0 && p[0] <= 0xF4:
		n = 4
	default:
		return false
	}
	// Enumerate the completions (at most 64^3).
	var try func(q []byte) bool
	try = func(q []byte) bool {
		if len(q) == n {
			c, size := utf8.DecodeRune(q)
			return !(c == utf8.RuneError && size <= 1) && in(c)
		}
		for b := 0x80; b <= 0xBF; b++ {
			if try(append(q, byte(b))) {
				return true
			}
		}
		return false
	}
	for _, c := range p[1:] {
		if c < 0x80 || c > 0xBF {
			return false
		}
	}
	return try(append([]byte(nil), p...))
}
