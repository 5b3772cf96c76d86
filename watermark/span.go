package watermark

import (
	"cmp"
	"math"
	"slices"
)

// spanGrowth is the ratio between successive span lengths of the search.
const spanGrowth = 1.5

// spanGrid calls fn for every span [s, s+l) of scored tokens that the
// localized search tests, over n scored tokens: lengths from minSpan up,
// each 1.5 times the last, shorter than n (the whole text is tested apart),
// starting every quarter length. A watermarked stretch of length L >= minSpan
// overlaps some tested span of length in [L/1.5, L] by at least 3/4 of
// it. The grid holds O(n/minSpan) spans, so the correction for testing
// them all costs a factor of order n/minSpan, not n².
func spanGrid(n, minSpan int, fn func(s, l int)) {
	for l := minSpan; l < n; l = int(math.Ceil(float64(l) * spanGrowth)) {
		step := max(1, l/4)
		for s := 0; s+l <= n; s += step {
			fn(s, l)
		}
	}
}

// searchSpans tests the spans of spanGrid and returns those whose p-value,
// corrected for twice the number of spans tested (they share half of the
// error budget with the whole-text test), is below e^logThr: the best
// first, then others that do not overlap it, in text order. logMin is the
// smallest corrected ln p-value. ok is false when the text is too short for
// a search (under twice minSpan scored tokens) or the search is off.
func searchSpans(sc Scores, minSpan int, logThr float64) (spans []Span, logMin float64, ok bool) {
	if minSpan == 0 {
		minSpan = DefaultMinSpan
	}
	n := len(sc.S)
	if minSpan < 0 || n < 2*minSpan {
		return nil, 0, false
	}
	prefix := make([]float64, n+1) // prefix[i] = sum of S[:i]
	for i, s := range sc.S {
		prefix[i+1] = prefix[i] + s
	}
	type cand struct {
		s, l int
		logp float64
	}
	var all []cand
	m := 0
	spanGrid(n, minSpan, func(s, l int) {
		m++
		all = append(all, cand{s, l, logTail(sc.Key, l, prefix[s+l]-prefix[s])})
	})
	logFactor := math.Log(2 * float64(m))
	logMin = 0
	var hits []cand
	for _, c := range all {
		c.logp = min(0, c.logp+logFactor)
		logMin = min(logMin, c.logp)
		if c.logp < logThr {
			hits = append(hits, c)
		}
	}
	slices.SortStableFunc(hits, func(a, b cand) int { return cmp.Compare(a.logp, b.logp) })
	var kept []cand
	for _, h := range hits {
		if !slices.ContainsFunc(kept, func(k cand) bool { return h.s < k.s+k.l && k.s < h.s+h.l }) {
			kept = append(kept, h)
		}
	}
	slices.SortFunc(kept, func(a, b cand) int { return a.s - b.s })
	spans = make([]Span, len(kept))
	for i, k := range kept {
		spans[i] = Span{Start: sc.Pos[k.s], End: sc.Pos[k.s+k.l-1] + 1, PValue: math.Exp(k.logp)}
	}
	return spans, logMin, true
}
