package eval

import (
	"regexp"
	"strings"
)

// This file extracts the letter of a multiple-choice answer.

var (
	// leadLetterRe is a letter at the start of an answer: "B", "(B)",
	// "B.", "B) Paris", "**B**", but not the article in "A city".
	leadLetterRe = regexp.MustCompile(`^(?:\(([A-Z])\)|([A-Z])(?:[.:)]|\s*\n|\s*$))`)
	// parenLetterRe is a letter in parentheses anywhere: "(C)".
	parenLetterRe = regexp.MustCompile(`\(([A-Z])\)`)
)

// Letter returns the letter of choice i (0 is "A").
func Letter(i int) string { return string(rune('A' + i)) }

// letterOf returns the choice letter that x starts with, if it is one of
// the first n letters.
func letterOf(x string, n int) string {
	x = cleanAnswer(stripText(x))
	m := leadLetterRe.FindStringSubmatch(x)
	if m == nil {
		return ""
	}
	l := m[1] + m[2]
	if int(l[0]-'A') >= n {
		return ""
	}
	return l
}

// ExtractChoice applies the rules to a multiple-choice answer whose
// reasoning is dropped, for n choices (texts in choices, when known): the
// letter of "#### X", else of the last \boxed{...}, else of "answer is X",
// else the letter the answer starts with, else the last letter in
// parentheses, else the one choice whose text the answer holds. It
// returns "" when none is found.
func ExtractChoice(answer string, n int, choices []string) string {
	if n <= 0 {
		n = 4
	}
	if m := hashesLineRe.FindStringSubmatch(answer); m != nil {
		if l := letterOf(m[1], n); l != "" {
			return l
		}
	}
	if b, ok := lastBoxed(answer); ok {
		if l := letterOf(b, n); l != "" {
			return l
		}
	}
	if x, ok := answerIs(answer); ok {
		if l := letterOf(x, n); l != "" {
			return l
		}
	}
	if l := letterOf(answer, n); l != "" {
		return l
	}
	ms := parenLetterRe.FindAllStringSubmatch(answer, -1)
	for i := len(ms) - 1; i >= 0; i-- {
		if int(ms[i][1][0]-'A') < n {
			return ms[i][1]
		}
	}
	found := ""
	for i, c := range choices {
		c = strings.TrimSpace(c)
		if c == "" || !strings.Contains(answer, c) {
			continue
		}
		if found != "" {
			return "" // several choices named: no answer
		}
		found = Letter(i)
	}
	return found
}
