package watermark

import "math"

// Marker watermarks one sequence with one key. The engine calls it at each
// step with the tokens so far (prompt and generated); the window is their
// last Key.Context tokens. A Marker is not safe for concurrent use: make one
// per sequence.
type Marker struct {
	key Key
	win *windower
}

// NewMarker returns a Marker for k, which must be valid.
func NewMarker(k Key) *Marker { return &Marker{key: k, win: newWindower(k.Secret)} }

// Key returns the marker's key.
func (m *Marker) Key() Key { return m.key }

// Window returns the window for the token that follows history.
func (m *Marker) Window(history []int) Window { return m.WindowAfter(nil, history) }

// WindowAfter is Window for the history prompt followed by output, without
// joining them: the last Key.Context tokens of both.
func (m *Marker) WindowAfter(prompt, output []int) Window {
	h := m.key.Context
	out := output[max(0, len(output)-h):]
	pr := prompt[max(0, len(prompt)-(h-len(out))):]
	return m.win.window2(pr, out)
}

// Bias applies the key's logit bias for the token after history: a redgreen
// key adds Delta to the green tokens of logits (n_vocab); a gumbel key
// changes nothing (it acts in Choose).
func (m *Marker) Bias(history []int, logits []float32) {
	if m.key.Scheme != RedGreen {
		return
	}
	m.Window(history).BiasGreen(logits, m.key.Gamma, m.key.Delta)
}

// Choose picks the token after history from the sampler's final
// distribution, candidates ids (n) with probabilities proportional to
// probs (n). A gumbel key returns the index of its Gumbel-max choice; a
// redgreen key returns -1, leaving the draw to the sampler (its bias already
// shaped the distribution).
func (m *Marker) Choose(history []int, ids []int, probs []float64) int {
	if m.key.Scheme != Gumbel {
		return -1
	}
	return m.Window(history).Gumbel(ids, probs)
}

// Gumbel returns the index i of the candidate that maximizes
// U(ids[i])^(1/p_i), p_i proportional to probs[i]: with uniform U, token i
// wins with probability exactly p_i, so the text keeps the model's
// distribution while every choice leans to tokens of high U. The
// probabilities may have any positive scale; zero, negative and NaN ones
// never win. It returns -1 when none is positive.
//
// It compares ln(u)/p without a logarithm for most candidates: a candidate
// can beat the best score B < 0 only if u > e^(B·p), which needs
// 1-u < -B·p, since e^(B·p) >= 1 + B·p.
func (w Window) Gumbel(ids []int, probs []float64) int {
	best, bestScore := -1, math.Inf(-1)
	probs = probs[:len(ids)]
	for i, id := range ids {
		p := probs[i]
		if !(p > 0) {
			continue
		}
		m := w.hash(id) >> 12
		v := float64(int64(1<<53-2*m-1)) * unit // 1-u (int64: the uint64 conversion branches)
		if v >= -bestScore*p {
			continue
		}
		var lu float64 // ln u
		if v < 0.5 {
			lu = math.Log1p(-v)
		} else {
			lu = math.Log(float64(int64(2*m+1)) * unit)
		}
		if s := lu / p; s > bestScore || best < 0 {
			best, bestScore = i, s
		}
	}
	return best
}

// BiasGreen adds delta to the logit (n_vocab) of every token on the
// window's green list of fraction gamma. It is branch-free (a random 25%
// of the tokens are green, which no branch predictor guesses).
func (w Window) BiasGreen(logits []float32, gamma, delta float64) {
	lim := greenLimit(gamma)
	d := math.Float32bits(float32(delta))
	for id := range logits {
		// green: m < lim, so m-lim is negative and its sign spreads to all ones
		mask := uint32(int64(w.hash(id)>>12-lim) >> 63)
		logits[id] += math.Float32frombits(d & mask)
	}
}

// greenLimit returns the m below which U = (2m+1)·2^-53 < gamma.
func greenLimit(gamma float64) uint64 {
	// 2m+1 < gamma·2^53  <=>  m < (gamma·2^53 - 1)/2
	return uint64(math.Ceil((gamma*0x1p53 - 1) / 2))
}
