package watermark

import (
	"encoding/binary"
	"math"
)

// DefaultThreshold is the p-value below which Detect reports a detection.
const DefaultThreshold = 1e-6

// Options configures Detect. The zero value uses the defaults.
type Options struct {
	// Threshold is the p-value below which a text counts as watermarked;
	// 0 means DefaultThreshold.
	Threshold float64
	// MinSpan is the shortest span, in scored tokens, that the localized
	// search tries; 0 means DefaultMinSpan, a negative value turns the
	// search off.
	MinSpan int
}

// DefaultMinSpan is the shortest span the localized search tries.
const DefaultMinSpan = 32

// Span is a stretch of tokens [Start, End) (indices into the detected token
// sequence) that tests as watermarked on its own; PValue is corrected for
// every span and key tried.
type Span struct {
	Start  int     `json:"start"`
	End    int     `json:"end"`
	PValue float64 `json:"p_value"`
}

// Result is the outcome of testing one text. Its JSON form is the one that
// `qilin watermark detect --json` prints.
type Result struct {
	KeyID  string `json:"key_id"` // the key that fits the text best
	Scheme Scheme `json:"scheme"`
	Tokens int    `json:"tokens"` // tokens in the text
	Scored int    `json:"scored"` // distinct (window, token) pairs scored
	// Score is the test statistic over the whole text: the sum of -ln(1-u)
	// (gumbel; Gamma(Scored, 1) without the key's watermark) or the number
	// of green tokens (redgreen; Binomial(Scored, Gamma)).
	Score float64 `json:"score"`
	// PValue is the probability of evidence this strong in text that does
	// not carry the key, corrected for the spans and keys tried.
	PValue    float64 `json:"p_value"`
	Z         float64 `json:"z"` // Score standardized (informative only; PValue is exact)
	Detected  bool    `json:"detected"`
	Threshold float64 `json:"threshold"`
	Spans     []Span  `json:"spans"`
	// LogPValue is ln(PValue), finite where PValue underflows to 0.
	LogPValue float64 `json:"-"`
}

// Scores are the per-token scores of one text under one key: each distinct
// (context window, token) pair once, in order of first occurrence. A
// repeated n-gram is not new evidence, and counting it again would make
// repetitive text look watermarked.
type Scores struct {
	Key Key
	Pos []int     // (scored) index of the token in the text
	S   []float64 // (scored) -ln(1-u) for gumbel, 1 (green) or 0 for redgreen
}

// ScoreText scores tokens under k. Tokens whose window would reach before
// the text's start are not scored: the text's first Context tokens followed
// a prompt the detector does not see.
func ScoreText(tokens []int, k Key) Scores {
	win := newWindower(k.Secret)
	h := k.Context
	sc := Scores{Key: k}
	seen := make(map[string]struct{}, len(tokens))
	buf := make([]byte, 0, 4*(h+1))
	for i := h; i < len(tokens); i++ {
		buf = buf[:0]
		for _, t := range tokens[i-h : i+1] {
			buf = binary.LittleEndian.AppendUint32(buf, uint32(t))
		}
		if _, dup := seen[string(buf)]; dup {
			continue
		}
		seen[string(buf)] = struct{}{}
		w := win.window(tokens[i-h : i])
		sc.Pos = append(sc.Pos, i)
		sc.S = append(sc.S, tokenScore(k, w, tokens[i]))
	}
	return sc
}

// tokenScore is one token's evidence under k in window w.
func tokenScore(k Key, w Window, id int) float64 {
	if k.Scheme == RedGreen {
		if w.Green(id, k.Gamma) {
			return 1
		}
		return 0
	}
	return -math.Log(w.V(id))
}

// logTail returns ln P(score >= sum) over n scored tokens without the key.
func logTail(k Key, n int, sum float64) float64 {
	if k.Scheme == RedGreen {
		return LogBinomialTail(n, int(math.Round(sum)), k.Gamma)
	}
	return LogGammaTail(n, sum)
}

// zScore standardizes sum over n tokens (0 for n = 0).
func zScore(k Key, n int, sum float64) float64 {
	if n == 0 {
		return 0
	}
	fn := float64(n)
	if k.Scheme == RedGreen {
		return (sum - fn*k.Gamma) / math.Sqrt(fn*k.Gamma*(1-k.Gamma))
	}
	return (sum - fn) / math.Sqrt(fn)
}

// Detect tests tokens against every key and reports the key that fits best,
// its p-value multiplied by the number of keys (Bonferroni), so that trying
// many keys does not manufacture a detection.
func Detect(tokens []int, keys []Key, opts Options) Result {
	var best Result
	for i, k := range keys {
		r := Test(ScoreText(tokens, k), len(tokens), opts)
		if i == 0 || r.LogPValue < best.LogPValue {
			best = r
		}
	}
	if len(keys) == 0 {
		best = Test(Scores{}, len(tokens), opts)
	}
	best.correct(math.Log(float64(max(1, len(keys)))))
	return best
}

// Test turns one key's scores into a Result (for a text of tokens tokens):
// the whole-text test and, for texts long enough, the localized span
// search, combined by a weighted Bonferroni correction.
func Test(sc Scores, tokens int, opts Options) Result {
	thr := opts.Threshold
	if thr <= 0 {
		thr = DefaultThreshold
	}
	n := len(sc.S)
	sum := sumScores(sc.S)
	r := Result{
		KeyID: sc.Key.ID, Scheme: sc.Key.Scheme, Tokens: tokens, Scored: n,
		Score: sum, Z: zScore(sc.Key, n, sum), Threshold: thr, Spans: []Span{},
	}
	r.LogPValue = logTail(sc.Key, n, sum)
	if spans, logMin, ok := searchSpans(sc, opts.MinSpan, math.Log(thr)); ok {
		// Half the error budget to the whole text, half to the spans.
		r.LogPValue = min(r.LogPValue+math.Ln2, logMin)
		r.Spans = spans
	}
	r.correct(0)
	return r
}

// correct multiplies the p-values by e^logFactor, capping them at 1, and
// sets PValue and Detected.
func (r *Result) correct(logFactor float64) {
	r.LogPValue = min(0, r.LogPValue+logFactor)
	r.PValue = math.Exp(r.LogPValue)
	kept := r.Spans[:0]
	for _, s := range r.Spans {
		s.PValue = min(1, s.PValue*math.Exp(logFactor))
		if s.PValue < r.Threshold {
			kept = append(kept, s)
		}
	}
	r.Spans = kept
	r.Detected = r.PValue < r.Threshold
}
