// Package logitcmp compares rows of logits the way the shared references'
// tolerances are defined: mean KL divergence of the softmax distributions
// and the share of rows whose most likely token agrees.
package logitcmp

import "math"

// Compare returns the mean over rows of KL(softmax(ref) ‖ softmax(got)) and
// the share of rows whose argmax agrees. ref and got hold the same number of
// rows of nVocab logits each.
func Compare(ref, got []float32, nVocab int) (meanKL, top1 float64) {
	rows := len(ref) / nVocab
	if rows == 0 {
		return 0, 0
	}
	for r := 0; r < rows; r++ {
		p := LogSoftmax(ref[r*nVocab : (r+1)*nVocab])
		q := LogSoftmax(got[r*nVocab : (r+1)*nVocab])
		var kl float64
		for i := range p {
			kl += math.Exp(p[i]) * (p[i] - q[i])
		}
		meanKL += kl
		if Argmax(p) == Argmax(q) {
			top1++
		}
	}
	return meanKL / float64(rows), top1 / float64(rows)
}

// LogSoftmax returns log(softmax(x)) in float64.
func LogSoftmax(x []float32) []float64 {
	m := math.Inf(-1)
	for _, v := range x {
		m = math.Max(m, float64(v))
	}
	var s float64
	for _, v := range x {
		s += math.Exp(float64(v) - m)
	}
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v) - m - math.Log(s)
	}
	return out
}

// Argmax returns the index of the largest value, the first one on ties.
func Argmax[T float32 | float64](x []T) int {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return best
}
