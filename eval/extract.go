package eval

import (
	"math/big"
	"regexp"
	"strings"
)

// This file holds the answer extraction for generated answers, in the
// issue's order: drop the reasoning, then "#### N", else the last
// \boxed{...}, else "answer is X", else the last number.

// Generation is one generated answer as a model gave it.
type Generation struct {
	// Content is the answer text (for a local model, everything it
	// generated; for an endpoint, "content").
	Content string
	// ReasoningContent is an endpoint's separate reasoning
	// ("reasoning_content"), "" when it sent none.
	ReasoningContent string
	// ThinkOpen says the prompt itself opened a reasoning block (a
	// template whose generation prompt ends in "<think>"), so Content
	// starts inside the reasoning.
	ThinkOpen bool
	// FinishReason is "stop", "length", ...
	FinishReason string
	// Unclosed says the engine or endpoint that split the reasoning off
	// found that it never closed.
	Unclosed bool
}

const (
	thinkOpen  = "<think>"
	thinkClose = "</think>"
)

// SplitReasoning drops the reasoning of g: ReasoningContent when set, and
// in Content everything up to the first "</think>". closed is false when
// the reasoning never closed (g.Unclosed; the content opened "<think>",
// or the prompt did, with no "</think>" after it; or an endpoint cut the
// answer off by length while it had sent only reasoning): such an answer is wrong, and
// is not parsed.
func SplitReasoning(g Generation) (answer, reasoning string, closed bool) {
	reasoning = g.ReasoningContent
	content := g.Content
	if g.Unclosed {
		return "", reasoning + content, false
	}
	if i := strings.Index(content, thinkClose); i >= 0 {
		r := content[:i]
		if j := strings.Index(r, thinkOpen); j >= 0 && strings.TrimSpace(r[:j]) == "" {
			r = r[j+len(thinkOpen):]
		}
		return content[i+len(thinkClose):], reasoning + r, true
	}
	opened := g.ThinkOpen
	if t := strings.TrimLeft(content, " \t\r\n"); strings.HasPrefix(t, thinkOpen) {
		opened = true
	}
	if opened {
		return "", reasoning + strings.TrimPrefix(strings.TrimLeft(content, " \t\r\n"), thinkOpen), false
	}
	if g.ReasoningContent != "" && strings.TrimSpace(content) == "" && g.FinishReason == "length" {
		return "", reasoning, false
	}
	return content, reasoning, true
}

var (
	// hashesRe is the "#### N" marker, as lm-evaluation-harness's gsm8k
	// strict-match writes it, also after a "$" and with more space.
	hashesRe = regexp.MustCompile(`####\s*(\$?\s*-?[0-9.,$]*[0-9][0-9.,]*)`)
	// hashesLineRe is "#### X" with any X up to the end of the line.
	hashesLineRe = regexp.MustCompile(`####[ \t]*([^\n]*)`)
	// answerIsRe is "answer is X" (also "answer is: X", "Answer: X").
	answerIsRe = regexp.MustCompile(`(?i)\banswer(?:\s+is|\s*:)[\s:]*`)
	// numberRe is a number as answers write it: a sign, a dollar sign,
	// digits with thousands commas, a decimal part.
	numberRe = regexp.MustCompile(`-?\$?\s?(?:[0-9][0-9,]*(?:\.[0-9]+)?|\.[0-9]+)`)
)

// lastBoxed returns the contents of the last \boxed{...} (or \fbox{...},
// or "\boxed X" without braces) in s, braces balanced.
func lastBoxed(s string) (string, bool) {
	i := max(strings.LastIndex(s, `\boxed`), strings.LastIndex(s, `\fbox`))
	if i < 0 {
		return "", false
	}
	rest := s[i+1:]
	rest = strings.TrimLeft(rest, "abcdefghijklmnopqrstuvwxyz")
	if strings.HasPrefix(rest, " ") {
		// "\boxed 5": up to the end of the math or the line.
		t := strings.TrimLeft(rest, " ")
		if k := strings.IndexAny(t, "$\n"); k >= 0 {
			t = t[:k]
		}
		return strings.TrimSpace(t), t != ""
	}
	if !strings.HasPrefix(rest, "{") {
		return "", false
	}
	depth := 0
	for k, c := range rest {
		switch c {
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				return rest[1:k], true
			}
		}
	}
	return "", false // never closed
}

// answerIs returns X of the last "answer is X": the rest of its sentence
// (up to a line break or a full stop followed by space), without Markdown
// emphasis, surrounding "$" and a trailing full stop.
func answerIs(s string) (string, bool) {
	m := answerIsRe.FindAllStringIndex(s, -1)
	if m == nil {
		return "", false
	}
	x := s[m[len(m)-1][1]:]
	if k := strings.IndexByte(x, '\n'); k >= 0 {
		x = x[:k]
	}
	if k := strings.Index(x, ". "); k >= 0 {
		x = x[:k]
	}
	x = cleanAnswer(x)
	return x, x != ""
}

// cleanAnswer trims space, Markdown emphasis, enclosing math delimiters
// and a trailing full stop from an extracted answer.
func cleanAnswer(x string) string {
	x = strings.TrimSpace(x)
	x = strings.Trim(x, "*_ ")
	x = strings.TrimSuffix(x, ".")
	for _, d := range [][2]string{{`\(`, `\)`}, {`\[`, `\]`}, {"$", "$"}} {
		if strings.HasPrefix(x, d[0]) && strings.HasSuffix(x, d[1]) && len(x) >= len(d[0])+len(d[1]) {
			x = strings.TrimSpace(x[len(d[0]) : len(x)-len(d[1])])
		}
	}
	return strings.TrimSuffix(strings.TrimSpace(x), ".")
}

// ExtractNumber applies the numeric rules to an answer whose reasoning is
// dropped: the first "#### N", else the number in the last \boxed{...},
// else the number after the last "answer is", else the last number. It
// returns "" when the answer holds no number.
func ExtractNumber(answer string) string {
	if m := hashesRe.FindStringSubmatch(answer); m != nil {
		return NormalizeNumber(m[1])
	}
	if b, ok := lastBoxed(answer); ok {
		if n := firstNumber(stripText(b)); n != "" {
			return n
		}
	}
	if x, ok := answerIs(answer); ok {
		if n := firstNumber(x); n != "" {
			return n
		}
	}
	m := numberRe.FindAllString(answer, -1)
	if m == nil {
		return ""
	}
	return NormalizeNumber(m[len(m)-1])
}

func firstNumber(s string) string {
	if m := numberRe.FindString(s); m != "" {
		return NormalizeNumber(m)
	}
	return ""
}

// NormalizeNumber removes ",", "$", spaces and a trailing "." from a
// number as written ("$1,000." is "1000").
func NormalizeNumber(s string) string {
	s = strings.NewReplacer(",", "", "$", "", " ", "").Replace(strings.TrimSpace(s))
	return strings.TrimSuffix(s, ".")
}

// NumbersEqual compares two numbers as written, after NormalizeNumber,
// by value: "42.0" equals "42", "1/2" equals "0.5". Anything that is not
// a number compares as text.
func NumbersEqual(a, b string) bool {
	a, b = NormalizeNumber(a), NormalizeNumber(b)
	if a == "" || b == "" {
		return false
	}
	x, okx := new(big.Rat).SetString(a)
	y, oky := new(big.Rat).SetString(b)
	if okx && oky {
		return x.Cmp(y) == 0
	}
	return a == b
}

// canonNumber is the key under which cons@K counts a numeric answer.
func canonNumber(s string) string {
	s = NormalizeNumber(s)
	if x, ok := new(big.Rat).SetString(s); ok {
		return x.RatString()
	}
	return s
}
