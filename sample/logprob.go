package sample

import (
	"math"
	"sync"

	"github.com/qilin-ai/qilin/kernels"
)

// TokenLogprob is a token id with its log-probability.
type TokenLogprob struct {
	ID      int
	Logprob float32
}

// TopLogprobs appends to dst[:0] the k most likely tokens of softmax(logits)
// with their natural-log probabilities, most likely first (the lowest id
// first on ties), and returns the result. It uses the raw logits: no
// temperature, penalties or filtering. NaN logits count as impossible.
// It allocates nothing when cap(dst) >= k.
func TopLogprobs(logits []float32, k int, dst []TokenLogprob) []TokenLogprob {
	dst = dst[:0]
	k = min(k, len(logits))
	if k <= 0 {
		return dst
	}
	lse := logSumExp(logits)
	// Insertion into the sorted dst; most logits fail the first comparison.
	for i, l := range logits {
		if l != l {
			l = float32(math.Inf(-1))
		}
		if len(dst) == k && !(l > dst[k-1].Logprob) {
			continue
		}
		if len(dst) < k {
			dst = append(dst, TokenLogprob{})
		}
		j := len(dst) - 1
		for j > 0 && l > dst[j-1].Logprob {
			dst[j] = dst[j-1]
			j--
		}
		dst[j] = TokenLogprob{ID: i, Logprob: l}
	}
	for i := range dst {
		dst[i].Logprob = logprobOf(dst[i].Logprob, lse)
	}
	return dst
}

// Logprob returns the natural-log probability of token id under
// softmax(logits), or -Inf when id is out of range or its logit is NaN.
func Logprob(logits []float32, id int) float32 {
	if id < 0 || id >= len(logits) || logits[id] != logits[id] {
		return float32(math.Inf(-1))
	}
	return logprobOf(logits[id], logSumExp(logits))
}

// logprobOf returns l - lse, the log-probability of logit l, with the
// infinite cases settled: everything impossible (lse = -Inf) or a +Inf logit
// that takes all the mass.
func logprobOf(l float32, lse float64) float32 {
	if math.IsInf(lse, 0) {
		if math.IsInf(float64(l), 1) {
			return 0
		}
		return float32(math.Inf(-1))
	}
	return float32(float64(l) - lse)
}

// expBufs holds the scratch of logSumExp (a stack array would escape
// through the kernel call).
var expBufs = sync.Pool{New: func() any { return new([1024]float32) }}

// logSumExp returns log(sum(exp(logits))) in float64, skipping NaN. The
// exponentials are taken in float32 with the vectorized kernel, of each
// logit's gap to the maximum (that gap rounded to float32: a relative
// error under 3e-6 on a term, which the term's size bounds, so under 1e-6
// on the sum); gaps below negligible count as zero, as in sampling.
func logSumExp(logits []float32) float64 {
	maxl := math.Inf(-1)
	for _, l := range logits {
		if float64(l) > maxl {
			maxl = float64(l)
		}
	}
	if math.IsInf(maxl, 0) {
		return maxl
	}
	buf := expBufs.Get().(*[1024]float32)
	defer expBufs.Put(buf)
	var sum float64
	for len(logits) > 0 {
		x := buf[:min(len(logits), len(buf))]
		for i, l := range logits[:len(x)] {
			d := float64(l) - maxl
			if !(d >= negligible) { // NaN too
				d = -math.MaxFloat32 // exp is 0
			}
			x[i] = float32(d)
		}
		kernels.Exp(x, x)
		var s [4]float64 // four chains of additions, not one
		i := 0
		for ; i+4 <= len(x); i += 4 {
			s[0] += float64(x[i])
			s[1] += float64(x[i+1])
			s[2] += float64(x[i+2])
			s[3] += float64(x[i+3])
		}
		for ; i < len(x); i++ {
			s[0] += float64(x[i])
		}
		sum += (s[0] + s[1]) + (s[2] + s[3])
		logits = logits[len(x):]
	}
	return maxl + math.Log(sum)
}
