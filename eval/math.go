package eval

import (
	"math/big"
	"regexp"
	"strings"
)

// This file normalizes LaTeX answers (MATH-500) so that equal answers
// written differently compare equal, following the normalization of the
// MATH benchmark's grader (Hendrycks et al., "strip_string"): \dfrac and
// \tfrac are \frac, \left/\right, degrees, "\$", "\%", units in \text{} and
// spaces go, "\frac12" is "\frac{1}{2}", "a/b" is "\frac{a}{b}", "0.5" is
// "\frac{1}{2}", a leading "x =" goes; and then numbers compare by value.

// ExtractMath applies the rules to a LaTeX answer whose reasoning is
// dropped: "#### X" (the rest of the line), else the last \boxed{...},
// else "answer is X", else the last number.
func ExtractMath(answer string) string {
	if m := hashesLineRe.FindStringSubmatch(answer); m != nil {
		if x := cleanAnswer(m[1]); x != "" {
			return x
		}
	}
	if b, ok := lastBoxed(answer); ok {
		return strings.TrimSpace(b)
	}
	if x, ok := answerIs(answer); ok {
		return x
	}
	m := numberRe.FindAllString(answer, -1)
	if m == nil {
		return ""
	}
	return NormalizeNumber(m[len(m)-1])
}

var (
	textRe        = regexp.MustCompile(`\\(?:text|textbf|mathrm|mbox)\{([^{}]*)\}`)
	unitsRe       = regexp.MustCompile(`\\(?:text|mbox)\{\s*[a-zA-Z][a-zA-Z ]*\}$`)
	spaceCmdRe    = regexp.MustCompile(`\\[,;:! ]|\\q?quad`)
	sqrtRe        = regexp.MustCompile(`\\sqrt([0-9a-zA-Z])`)
	fracShortRe   = regexp.MustCompile(`\\frac([0-9a-zA-Z])([0-9a-zA-Z])`)
	fracHalfRe    = regexp.MustCompile(`\\frac\{([^{}]*)\}([0-9a-zA-Z])`)
	fracHalf2Re   = regexp.MustCompile(`\\frac([0-9a-zA-Z])\{`)
	slashRe       = regexp.MustCompile(`^(-?[0-9]+)/([0-9]+)$`)
	fracRe        = regexp.MustCompile(`^(-?)\\frac\{(-?[0-9]+)\}\{(-?[0-9]+)\}$`)
	lhsRe         = regexp.MustCompile(`^[a-zA-Z](?:_[0-9a-zA-Z])?\s*=`)
	degreeRe      = regexp.MustCompile(`\^\{?\\circ\}?`)
	thousandsRe   = regexp.MustCompile(`^-?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?$`)
	plainNumberRe = regexp.MustCompile(`-?(?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+)`)
)

// stripText replaces \text{X} (and \mathrm, \mbox, \textbf) by X.
func stripText(s string) string {
	for {
		t := textRe.ReplaceAllString(s, "$1")
		if t == s {
			return s
		}
		s = t
	}
}

// NormalizeMath puts a LaTeX answer in canonical form (see the file's
// comment).
func NormalizeMath(s string) string {
	s = strings.TrimSpace(s)
	if b, ok := lastBoxed(s); ok && strings.HasPrefix(s, `\boxed`) {
		s = b
	}
	s = cleanAnswer(s)
	s = strings.ReplaceAll(s, "\n", "")
	s = strings.TrimSuffix(s, ".")
	s = strings.ReplaceAll(s, `\\`, `\`)
	s = strings.NewReplacer(`\dfrac`, `\frac`, `\tfrac`, `\frac`, `\left`, "", `\right`, "",
		`\displaystyle`, "", `\$`, "", `\%`, "", "%", "", `$`, "").Replace(s)
	s = degreeRe.ReplaceAllString(s, "")
	s = strings.TrimSpace(unitsRe.ReplaceAllString(s, ""))
	s = stripText(s)
	s = spaceCmdRe.ReplaceAllString(s, "")
	s = strings.ReplaceAll(s, " .", " 0.")
	s = strings.ReplaceAll(s, "{.", "{0.")
	if strings.HasPrefix(s, ".") {
		s = "0" + s
	}
	if lhsRe.MatchString(s) && strings.Count(s, "=") == 1 {
		s = s[strings.IndexByte(s, '=')+1:]
	}
	s = strings.Join(strings.Fields(s), "")
	s = sqrtRe.ReplaceAllString(s, `\sqrt{$1}`)
	s = fracShortRe.ReplaceAllString(s, `\frac{$1}{$2}`)
	s = fracHalfRe.ReplaceAllString(s, `\frac{$1}{$2}`)
	s = fracHalf2Re.ReplaceAllString(s, `\frac{$1}{`)
	if m := slashRe.FindStringSubmatch(s); m != nil {
		s = `\frac{` + m[1] + `}{` + m[2] + `}`
	}
	if s == "0.5" {
		s = `\frac{1}{2}`
	}
	return s
}

// mathValue returns the value of a normalized answer that is a plain
// number or an integer fraction.
func mathValue(s string) (*big.Rat, bool) {
	if m := fracRe.FindStringSubmatch(s); m != nil {
		r, ok := new(big.Rat).SetString(m[2] + "/" + m[3])
		if ok && m[1] == "-" {
			r.Neg(r)
		}
		return r, ok
	}
	n := s
	if thousandsRe.MatchString(n) {
		n = strings.ReplaceAll(n, ",", "")
	}
	if plainNumberRe.FindString(n) != n {
		return nil, false
	}
	return new(big.Rat).SetString(n)
}

// MathEqual compares two LaTeX answers after NormalizeMath: as text, or
// by value when both are numbers or integer fractions.
func MathEqual(a, b string) bool {
	a, b = NormalizeMath(a), NormalizeMath(b)
	if a == "" || b == "" {
		return false
	}
	if a == b {
		return true
	}
	x, okx := mathValue(a)
	y, oky := mathValue(b)
	return okx && oky && x.Cmp(y) == 0
}

// canonMath is the key under which cons@K counts a LaTeX answer.
func canonMath(s string) string {
	s = NormalizeMath(s)
	if v, ok := mathValue(s); ok {
		return v.RatString()
	}
	return s
}
