package watermark

import (
	"fmt"
	"math"
	"math/big"
	"testing"
)

const bigPrec = 1024

// bigExp returns e^x to bigPrec bits: Taylor series of x/2^16, squared 16
// times.
func bigExp(x float64) *big.Float {
	r := new(big.Float).SetPrec(bigPrec).SetFloat64(x)
	r.Quo(r, new(big.Float).SetPrec(bigPrec).SetFloat64(1<<16))
	sum := new(big.Float).SetPrec(bigPrec).SetInt64(1)
	term := new(big.Float).SetPrec(bigPrec).SetInt64(1)
	for k := 1; k < 80; k++ {
		term.Mul(term, r)
		term.Quo(term, new(big.Float).SetPrec(bigPrec).SetInt64(int64(k)))
		sum.Add(sum, term)
	}
	for range 16 {
		sum.Mul(sum, sum)
	}
	return sum
}

// bigLog returns ln f for f > 0 as a float64.
func bigLog(f *big.Float) float64 {
	mant := new(big.Float)
	exp := f.MantExp(mant)
	m, _ := mant.Float64()
	return math.Log(m) + float64(exp)*math.Ln2
}

// refLogGammaTail is ln(e^-x Σ_{k<n} x^k/k!) in big floats: a plain
// reference for LogGammaTail.
func refLogGammaTail(n int, x float64) float64 {
	bx := new(big.Float).SetPrec(bigPrec).SetFloat64(x)
	sum := new(big.Float).SetPrec(bigPrec)
	term := new(big.Float).SetPrec(bigPrec).SetInt64(1)
	for k := 0; k < n; k++ {
		if k > 0 {
			term.Mul(term, bx)
			term.Quo(term, new(big.Float).SetPrec(bigPrec).SetInt64(int64(k)))
		}
		sum.Add(sum, term)
	}
	sum.Quo(sum, bigExp(x))
	return bigLog(sum)
}

// refLogBinomialTail is ln Σ_{j>=k} C(n,j) p^j (1-p)^(n-j), summed exactly
// in rationals with p = num/den.
func refLogBinomialTail(n, k int, num, den int64) float64 {
	sum := new(big.Rat)
	pj := new(big.Int)
	for j := k; j <= n; j++ {
		c := new(big.Int).Binomial(int64(n), int64(j))
		pj.Exp(big.NewInt(num), big.NewInt(int64(j)), nil)
		c.Mul(c, pj)
		c.Mul(c, new(big.Int).Exp(big.NewInt(den-num), big.NewInt(int64(n-j)), nil))
		sum.Add(sum, new(big.Rat).SetInt(c))
	}
	sum.Quo(sum, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(den), big.NewInt(int64(n)), nil)))
	return bigLog(new(big.Float).SetPrec(bigPrec).SetRat(sum))
}

// The tolerance is on ln p: 1e-9 absolute, i.e. p to a relative 1e-9, from
// p near 1 to p below 1e-300 (where float64 itself underflows).
const logTol = 1e-9

func TestLogGammaTail(t *testing.T) {
	t.Logf("tolerance |ln p - ln ref| <= %g", logTol)
	for _, n := range []int{1, 2, 3, 10, 50, 196, 1000, 3000} {
		fn := float64(n)
		for _, x := range []float64{0.01, fn / 2, fn - 1, fn, fn + 3*math.Sqrt(fn), 2 * fn, 3*fn + 60, 10*fn + 700} {
			if x <= 0 {
				continue
			}
			t.Run(fmt.Sprintf("n=%d/x=%g", n, x), func(t *testing.T) {
				got, want := LogGammaTail(n, x), refLogGammaTail(n, x)
				if math.Abs(got-want) > logTol*max(1, math.Abs(want)*1e-3) {
					t.Errorf("ln Q(%d, %g) = %.15g, want %.15g", n, x, got, want)
				}
			})
		}
	}
}

func TestLogGammaTailClosedForms(t *testing.T) {
	tests := []struct {
		n    int
		x    float64
		want float64 // ln p
	}{
		{1, 50, -50},                     // Q(1, x) = e^-x
		{2, 3, -3 + math.Log(4)},         // e^-x (1 + x)
		{3, 0.5, -0.5 + math.Log(1.625)}, // e^-x (1 + x + x²/2)
		{1, 1e4, -1e4},                   // far below float64's range
		{5, 0, 0}, {0, 3, 0}, {4, -1, 0}, // p = 1
		{1, 36.7368005696771, -36.7368005696771},
	}
	for _, tt := range tests {
		if got := LogGammaTail(tt.n, tt.x); math.Abs(got-tt.want) > 1e-12*max(1, math.Abs(tt.want)) {
			t.Errorf("LogGammaTail(%d, %g) = %.16g, want %.16g", tt.n, tt.x, got, tt.want)
		}
	}
}

func TestLogBinomialTail(t *testing.T) {
	t.Logf("tolerance |ln p - ln ref| <= %g (relative 1e-3 of |ln p| beyond 1)", logTol)
	for _, n := range []int{1, 5, 50, 196, 1000} {
		for _, k := range []int{0, 1, n / 8, n / 4, n/4 + 1, n / 2, 3 * n / 4, n - 1, n} {
			if k < 0 || k > n {
				continue
			}
			t.Run(fmt.Sprintf("n=%d/k=%d", n, k), func(t *testing.T) {
				got := LogBinomialTail(n, k, 0.25)
				want := refLogBinomialTail(n, k, 1, 4)
				if math.Abs(got-want) > logTol*max(1, math.Abs(want)*1e-3) {
					t.Errorf("ln P(Bin(%d, 1/4) >= %d) = %.15g, want %.15g", n, k, got, want)
				}
			})
		}
	}
	if got := LogBinomialTail(10, 11, 0.25); !math.IsInf(got, -1) {
		t.Errorf("k > n: got %v, want -Inf", got)
	}
	// P(Bin(100, 1/4) >= 100) = 4^-100.
	if got, want := LogBinomialTail(100, 100, 0.25), -100*math.Log(4); math.Abs(got-want) > 1e-10 {
		t.Errorf("all green: got %.15g, want %.15g", got, want)
	}
}
