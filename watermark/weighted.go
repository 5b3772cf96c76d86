package watermark

import "math"

// Cand is one of a suspect's candidate next tokens and its probability.
type Cand struct {
	ID int
	P  float64
}

// The weighted reading test uses more of what the suspect predicts than its
// most likely token: at each position scored, its candidates y with
// probabilities q(y) (ReadingInput.Cands, e.g. its top 16), and the
// statistic S = Σ q(y)·s(window, y), s the token score of Detect. A student
// that learned from our outputs moves probability towards the key's
// choices even where its most likely token stays the same. For a suspect
// that knows nothing of the key, q does not depend on the key's numbers at
// the windows scored (they are read for the first time: ReadingInput.Ours),
// so S is a weighted sum of independent scores with known weights, and
// Chernoff's bound P(S >= s) <= min over λ of E[e^{λS}] e^{-λs} is a valid
// p-value (slightly conservative; the exact law of the weighted sum has no
// closed form).

// scoreWeighted returns S, the weights of the scored positions (flattened),
// and the positions counted as ScoreReading does. in.Ours must be set.
func scoreWeighted(in ReadingInput, k Key) (sum float64, weights []float64, scored, predictions, excluded int) {
	h := k.Context
	win := newWindower(k.Secret)
	past := ngramSet{}
	var buf []byte
	for ti, text := range in.Texts {
		start := min(max(0, in.Start[ti]), len(text))
		for i := h; i < len(text); i++ {
			buf = ngramKey(buf, text[i-h:i])
			_, earlier := past[string(buf)]
			past[string(buf)] = struct{}{}
			if i < start+h || i >= len(in.Cands[ti]) || len(in.Cands[ti][i]) == 0 {
				continue
			}
			predictions++
			if earlier {
				excluded++
				continue
			}
			w := win.window(text[i-h : i])
			for _, c := range in.Cands[ti][i] {
				if c.P > 0 {
					sum += c.P * tokenScore(k, w, c.ID)
					weights = append(weights, c.P)
				}
			}
			scored++
		}
	}
	return sum, weights, scored, predictions, excluded
}

// chernoffLogTail bounds ln P(Σ q_i s_i >= sum) for independent token
// scores s_i without the key: Exp(1) (gumbel) or Bernoulli(γ) (redgreen).
func chernoffLogTail(k Key, q []float64, sum float64) float64 {
	var mean, qmax float64
	g := k.Gamma
	for _, x := range q {
		mean += x
		qmax = max(qmax, x)
	}
	if k.Scheme == RedGreen {
		mean *= g
	}
	if len(q) == 0 || sum <= mean {
		return 0
	}
	// logMGF(λ) and its derivative.
	f := func(l float64) (v, d float64) {
		for _, x := range q {
			if k.Scheme == RedGreen {
				e := g * math.Exp(l*x)
				v += math.Log(1 - g + e)
				d += x * e / (1 - g + e)
			} else {
				v -= math.Log1p(-l * x)
				d += x / (1 - l*x)
			}
		}
		return v, d
	}
	lo, hi := 0.0, 0.0
	if k.Scheme == RedGreen {
		var top float64
		for _, x := range q {
			top += x
		}
		// Any λ >= 0 gives a valid bound; past 500/qmax e^{λq} overflows
		// and the bound is as small as float64 tells apart anyway.
		hi = 1 / qmax
		for _, d := f(hi); d < sum && hi < 500/qmax; _, d = f(hi) {
			hi = min(2*hi, 500/qmax)
		}
	} else {
		hi = (1 - 1e-12) / qmax
	}
	for range 100 {
		mid := (lo + hi) / 2
		if _, d := f(mid); d < sum {
			lo = mid
		} else {
			hi = mid
		}
	}
	v, _ := f(lo)
	return min(0, v-lo*sum)
}

// weightedZ standardizes S (informative only).
func weightedZ(k Key, q []float64, sum float64) float64 {
	var m, v float64
	for _, x := range q {
		m += x
		v += x * x
	}
	if v == 0 {
		return 0
	}
	if k.Scheme == RedGreen {
		return (sum - k.Gamma*m) / math.Sqrt(k.Gamma*(1-k.Gamma)*v)
	}
	return (sum - m) / math.Sqrt(v)
}
