package distill

import (
	"math"
	"regexp"
	"strconv"
	"strings"
)

// AnswerMatches reports whether the final answer in text equals want. The
// final answer is the last \boxed{...}, else what follows the last "answer
// is" or "Answer:", else the last number in text. Numbers compare by
// value (1e-6 relative; "1,000", "$5", "50%", "3/4" and \frac{3}{4}
// read as numbers), anything else as text ignoring case, spaces, TeX
// wrappers and final punctuation.
func AnswerMatches(text, want string) bool {
	got, ok := FinalAnswer(text)
	if !ok {
		return false
	}
	if a, ok := number(got); ok {
		if b, ok := number(want); ok {
			return math.Abs(a-b) <= 1e-6*math.Max(1, math.Abs(b))
		}
	}
	return normalize(got) == normalize(want)
}

var (
	answerIs = regexp.MustCompile(`(?i)(?:final answer|answer)(?:\s+is|\s*:)\s*`)
	numberRe = regexp.MustCompile(`-?\d[\d,]*(?:\.\d+)?(?:/\d+)?%?`)
)

// FinalAnswer extracts the final answer of a response (see AnswerMatches).
func FinalAnswer(text string) (string, bool) {
	if b, ok := lastBoxed(text); ok {
		return b, true
	}
	if locs := answerIs.FindAllStringIndex(text, -1); len(locs) > 0 {
		rest := text[locs[len(locs)-1][1]:]
		if i := strings.IndexByte(rest, '\n'); i >= 0 {
			rest = rest[:i]
		}
		if rest = strings.TrimSpace(rest); rest != "" {
			return strings.TrimRight(rest, ".。 "), true
		}
	}
	if ns := numberRe.FindAllString(text, -1); len(ns) > 0 {
		return ns[len(ns)-1], true
	}
	return "", false
}

// lastBoxed returns the contents of the last \boxed{...} (braces balanced).
func lastBoxed(text string) (string, bool) {
	i := strings.LastIndex(text, `\boxed{`)
	if i < 0 {
		return "", false
	}
	start := i + len(`\boxed{`)
	depth := 1
	for j := start; j < len(text); j++ {
		switch text[j] {
		case '{':
			depth++
		case '}':
			if depth--; depth == 0 {
				return text[start:j], true
			}
		}
	}
	return "", false
}

var fracRe = regexp.MustCompile(`^\\[dt]?frac\{(-?[\d.]+)\}\{(-?[\d.]+)\}$`)

// number reads s as a number, if it is one.
func number(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	s = strings.Trim(s, "$ ")
	s = strings.TrimSuffix(s, ".")
	s = strings.ReplaceAll(s, ",", "")
	s = strings.ReplaceAll(s, `\,`, "")
	s = strings.TrimPrefix(s, `\$`)
	pct := strings.HasSuffix(s, `\%`) || strings.HasSuffix(s, "%")
	s = strings.TrimSuffix(strings.TrimSuffix(s, `\%`), "%")
	if m := fracRe.FindStringSubmatch(s); m != nil {
		s = m[1] + "/" + m[2]
	}
	v, ok := 0.0, false
	if a, b, found := strings.Cut(s, "/"); found {
		x, err1 := strconv.ParseFloat(a, 64)
		y, err2 := strconv.ParseFloat(b, 64)
		if err1 == nil && err2 == nil && y != 0 {
			v, ok = x/y, true
		}
	} else if x, err := strconv.ParseFloat(s, 64); err == nil {
		v, ok = x, true
	}
	if ok && pct {
		v /= 100
	}
	return v, ok && !math.IsInf(v, 0) && !math.IsNaN(v)
}

// normalize lowercases s and drops spaces, TeX wrappers and final
// punctuation, for comparing non-numeric answers.
func normalize(s string) string {
	s = strings.ToLower(s)
	for _, w := range []string{`\text{`, `\mathrm{`, `\textbf{`} {
		s = strings.ReplaceAll(s, w, "")
	}
	s = strings.NewReplacer(`\left`, "", `\right`, "", "$", "", "{", "", "}", "", " ", "", "\t", "", "\n", "").Replace(s)
	return strings.TrimRight(s, ".。!")
}
