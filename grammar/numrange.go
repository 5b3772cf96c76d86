package grammar

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
)

// Grammars for numbers within bounds. Unbounded integer parts have at most
// maxIntDigits digits, as in llama.cpp's integral-part rule, so that every
// number ends.

const maxIntDigits = 16

// bound is one side of an interval of numbers; set false means none.
type bound struct {
	set  bool
	v    int64
	excl bool
}

// digitsGBNF returns GBNF for the decimal strings of [a, b] without
// leading zeros (0 <= a <= b; b < 0 means no upper bound, up to
// max(maxIntDigits, digits of a) digits).
func digitsGBNF(a, b int64) string {
	la := len(strconv.FormatInt(a, 10))
	lb := maxIntDigits
	if b >= 0 {
		lb = len(strconv.FormatInt(b, 10))
	} else if la > lb {
		lb = la
	}
	var alts []string
	for k := la; k <= lb; k++ {
		lo := a
		if k > 1 {
			lo = max(a, pow10(k-1))
		}
		hiS := strings.Repeat("9", k)
		if b >= 0 && k == lb {
			hiS = strconv.FormatInt(b, 10)
		}
		loS := strconv.FormatInt(lo, 10)
		if len(loS) != k {
			continue
		}
		alts = append(alts, fixedRange(loS, hiS))
	}
	return strings.Join(alts, " | ")
}

func pow10(k int) int64 {
	p := int64(1)
	for range k {
		p *= 10
	}
	return p
}

// fixedRange returns GBNF for the digit strings of one length between lo
// and hi inclusive (lo <= hi as numbers).
func fixedRange(lo, hi string) string {
	i := 0
	for i < len(lo) && lo[i] == hi[i] {
		i++
	}
	prefix := ""
	if i > 0 {
		prefix = strconv.Quote(lo[:i])
	}
	if i == len(lo) {
		return prefix
	}
	r := len(lo) - i - 1
	a, b := lo[i], hi[i]
	zeros, nines := strings.Repeat("0", r), strings.Repeat("9", r)
	tailLo, tailHi := lo[i+1:], hi[i+1:]
	var alts []string
	start, end := a, b
	if tailLo != zeros {
		alts = append(alts, join(fmt.Sprintf("[%c]", a), group(fixedRange(tailLo, nines))))
		start = a + 1
	}
	last := ""
	if tailHi != nines {
		last = join(fmt.Sprintf("[%c]", b), group(fixedRange(zeros, tailHi)))
		end = b - 1
	}
	if start <= end {
		alts = append(alts, join(digitClass(start, end), anyDigits(r)))
	}
	if last != "" {
		alts = append(alts, last)
	}
	return join(prefix, group(strings.Join(alts, " | ")))
}

func digitClass(a, b byte) string {
	if a == b {
		return fmt.Sprintf("[%c]", a)
	}
	return fmt.Sprintf("[%c-%c]", a, b)
}

func anyDigits(n int) string {
	switch n {
	case 0:
		return ""
	case 1:
		return "[0-9]"
	}
	return fmt.Sprintf("[0-9]{%d}", n)
}

func join(parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, " ")
}

func group(s string) string {
	if s == "" || !strings.Contains(s, "|") {
		return s
	}
	return "(" + s + ")"
}

// integerGBNF returns GBNF for the integers in [lo, hi].
func integerGBNF(lo, hi bound) (string, error) {
	// Turn exclusive bounds into inclusive ones.
	if lo.set && lo.excl {
		if lo.v == math.MaxInt64 {
			return "", fmt.Errorf("no integer above %d", lo.v)
		}
		lo.v, lo.excl = lo.v+1, false
	}
	if hi.set && hi.excl {
		if hi.v == math.MinInt64 {
			return "", fmt.Errorf("no integer below %d", hi.v)
		}
		hi.v, hi.excl = hi.v-1, false
	}
	if lo.set && hi.set && lo.v > hi.v {
		return "", fmt.Errorf("no integer between %d and %d", lo.v, hi.v)
	}
	var alts []string
	// Negative part: "-" then |x| in [max(1, -hi), -lo].
	if !lo.set || lo.v < 0 {
		nlo := int64(1)
		if hi.set && hi.v < -1 {
			nlo = -hi.v
		}
		nhi := int64(-1)
		if lo.set {
			nhi = -lo.v // lo.v > MinInt64 is checked by the caller's parsing
		}
		alts = append(alts, `"-" `+group(digitsGBNF(nlo, nhi)))
	}
	// Non-negative part: [max(0, lo), hi].
	if !hi.set || hi.v >= 0 {
		plo := int64(0)
		if lo.set && lo.v > 0 {
			plo = lo.v
		}
		phi := int64(-1)
		if hi.set {
			phi = hi.v
		}
		alts = append(alts, digitsGBNF(plo, phi))
	}
	return strings.Join(alts, " | "), nil
}

// Fraction parts of a bounded number: any, at least one non-zero digit, or
// none. Bounded numbers have no exponent.
const (
	fracAny     = `("." [0-9]{1,16})?`
	fracNonZero = `"." [0-9]{0,15} [1-9]`
)

// numberGBNF returns GBNF for the decimal numbers in the interval given by
// lo and hi, which are integers (callers round non-integer bounds inward).
func numberGBNF(lo, hi bound) (string, error) {
	if lo.set && hi.set && (lo.v > hi.v || lo.v == hi.v && (lo.excl || hi.excl)) {
		return "", fmt.Errorf("no number in the interval")
	}
	var alts []string
	// Negative numbers x = -y, y > 0: x >= lo is y <= -lo, x <= hi is y >= -hi.
	if !lo.set || lo.v < 0 {
		ylo := bound{set: true, v: 0, excl: true}
		if hi.set && hi.v < 0 {
			ylo = bound{set: true, v: -hi.v, excl: hi.excl}
		}
		yhi := bound{}
		if lo.set {
			yhi = bound{set: true, v: -lo.v, excl: lo.excl}
		}
		if s := nonNegative(ylo, yhi); s != "" {
			alts = append(alts, `"-" `+group(s))
		}
	}
	if !hi.set || hi.v > 0 || hi.v == 0 && !hi.excl {
		plo := bound{set: true, v: 0}
		if lo.set && (lo.v > 0 || lo.v == 0 && lo.excl) {
			plo = lo
		}
		if s := nonNegative(plo, hi); s != "" {
			alts = append(alts, s)
		}
	}
	if len(alts) == 0 {
		return "", fmt.Errorf("no number in the interval")
	}
	return strings.Join(alts, " | "), nil
}

// nonNegative returns GBNF for the numbers y >= 0 in (lo, hi) as bounded
// (lo is set, lo.v >= 0), or "" if there are none: integer parts strictly
// inside take any fraction, the lower end (if exclusive) a non-zero one,
// the upper end (if inclusive) none.
func nonNegative(lo, hi bound) string {
	anyLo := lo.v
	if lo.excl {
		anyLo++
	}
	anyHi := int64(-1) // unbounded
	if hi.set {
		anyHi = hi.v - 1
	}
	var alts []string
	if lo.excl && (!hi.set || hi.v > lo.v) {
		alts = append(alts, strconv.Quote(strconv.FormatInt(lo.v, 10))+" "+fracNonZero)
	}
	if anyHi < 0 && hi.set {
		// hi.v == 0: nothing strictly below it among non-negatives.
	} else if !hi.set || anyLo <= anyHi {
		alts = append(alts, group(digitsGBNF(anyLo, anyHi))+" "+fracAny)
	}
	if hi.set && !hi.excl && hi.v >= anyLo {
		alts = append(alts, strconv.Quote(strconv.FormatInt(hi.v, 10)))
	}
	return strings.Join(alts, " | ")
}

// roundBound reads a schema bound literal: for a lower bound the smallest
// integer at or above it (the bound stays exclusive only if it was an
// integer already), for an upper bound the largest at or below it.
// Rounding inward keeps every generated number inside the schema's range.
func roundBound(lit string, lower, excl bool) (bound, error) {
	r, ok := new(big.Rat).SetString(lit)
	if !ok {
		return bound{}, fmt.Errorf("%q is not a number", lit)
	}
	q := new(big.Int).Quo(r.Num(), r.Denom()) // truncates toward zero
	if !r.IsInt() {
		excl = false
		if lower && r.Sign() > 0 {
			q.Add(q, big.NewInt(1))
		}
		if !lower && r.Sign() < 0 {
			q.Sub(q, big.NewInt(1))
		}
	}
	if !q.IsInt64() || q.Int64() == math.MinInt64 {
		return bound{}, fmt.Errorf("bound %s is out of range", lit)
	}
	return bound{set: true, v: q.Int64(), excl: excl}, nil
}
