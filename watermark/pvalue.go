package watermark

import "math"

// Exact tail probabilities, computed in the log domain so that they stay
// accurate far below float64's smallest normal number. Both are finite sums
// of positive terms, summed from the largest term outwards until the next
// term falls below 1e-17 of the total, so the only error is lgamma's
// (relative ~1e-15 of values that are at most ~n ln n).

// seriesEps stops a sum once a term no longer changes it.
const seriesEps = 1e-17

// LogGammaTail returns ln P(X >= x) for X ~ Gamma(n, 1), the regularized
// upper incomplete gamma function Q(n, x), for an integer shape n: the sum
// of n independent Exp(1) variables. For integer n, Q(n, x) is the Poisson
// probability P(Poisson(x) <= n-1) = e^-x Σ_{k<n} x^k/k!. n <= 0 or x <= 0
// gives 0 (probability 1).
func LogGammaTail(n int, x float64) float64 {
	if n <= 0 || !(x > 0) {
		return 0
	}
	a := float64(n)
	if x > a-1 {
		// The terms grow with k up to k = x, so the last, k = n-1, is the
		// largest: sum the ratios t_{k-1}/t_k = k/x downwards from it.
		lead := -x + (a-1)*math.Log(x) - lgamma(a)
		sum, r := 1.0, 1.0
		for k := n - 1; k >= 1; k-- {
			r *= float64(k) / x
			sum += r
			if r < sum*seriesEps {
				break
			}
		}
		return lead + math.Log(sum)
	}
	// Q is not small: compute P = 1 - Q = e^-x Σ_{k>=n} x^k/k!, whose terms
	// fall from k = n on (ratio x/(k+1) < 1), and return ln(1 - P).
	lead := -x + a*math.Log(x) - lgamma(a+1)
	sum, r := 1.0, 1.0
	for k := n + 1; ; k++ {
		r *= x / float64(k)
		sum += r
		if r < sum*seriesEps {
			break
		}
	}
	return math.Log1p(-math.Exp(lead + math.Log(sum)))
}

// LogBinomialTail returns ln P(X >= k) for X ~ Binomial(n, p), 0 < p < 1.
// k <= 0 gives 0; k > n gives -Inf.
func LogBinomialTail(n, k int, p float64) float64 {
	switch {
	case k <= 0:
		return 0
	case k > n:
		return math.Inf(-1)
	}
	lp, lq := math.Log(p), math.Log1p(-p)
	logPMF := func(j int) float64 {
		return lgamma(float64(n+1)) - lgamma(float64(j+1)) - lgamma(float64(n-j+1)) + float64(j)*lp + float64(n-j)*lq
	}
	odds := p / (1 - p)
	if float64(k) >= float64(n)*p {
		// Above the mean the pmf falls with j: sum upwards from k.
		sum, r := 1.0, 1.0
		for j := k; j < n; j++ {
			r *= float64(n-j) / float64(j+1) * odds
			sum += r
			if r < sum*seriesEps {
				break
			}
		}
		return logPMF(k) + math.Log(sum)
	}
	// Below the mean: P(X <= k-1) sums downwards from k-1; return ln(1 - it).
	sum, r := 1.0, 1.0
	for j := k - 1; j > 0; j-- {
		r *= float64(j) / float64(n-j+1) / odds
		sum += r
		if r < sum*seriesEps {
			break
		}
	}
	return math.Log1p(-math.Exp(logPMF(k-1) + math.Log(sum)))
}

func lgamma(x float64) float64 {
	v, _ := math.Lgamma(x)
	return v
}
