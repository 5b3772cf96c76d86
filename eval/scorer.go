package eval

import (
	"fmt"
	"strings"
)

// Scorer names how a task's generated answers are extracted and compared
// with the reference answer.
type Scorer string

// The scorers. Numeric is the default.
const (
	// Numeric: the gsm8k rules (ExtractNumber), compared by value.
	Numeric Scorer = "numeric"
	// Math: LaTeX answers (ExtractMath), compared after NormalizeMath.
	Math Scorer = "math"
	// Choice: a choice letter (ExtractChoice).
	Choice Scorer = "choice"
	// Exact: "#### X", \boxed{X} or "answer is X" when present, else the
	// whole answer; compared as text after trimming space.
	Exact Scorer = "exact"
)

// ParseScorer reads a scorer's name; "" is Numeric.
func ParseScorer(s string) (Scorer, error) {
	switch Scorer(s) {
	case "":
		return Numeric, nil
	case Numeric, Math, Choice, Exact:
		return Scorer(s), nil
	}
	return "", fmt.Errorf("eval: unknown scorer %q (want numeric, math, choice or exact)", s)
}

// Extract finds the answer in a generated answer whose reasoning is
// dropped; choices are the item's choices (Choice only).
func (s Scorer) Extract(answer string, choices []string) string {
	switch s {
	case Math:
		return ExtractMath(answer)
	case Choice:
		return ExtractChoice(answer, len(choices), choices)
	case Exact:
		if m := hashesLineRe.FindStringSubmatch(answer); m != nil {
			return cleanAnswer(m[1])
		}
		if b, ok := lastBoxed(answer); ok {
			return strings.TrimSpace(b)
		}
		if x, ok := answerIs(answer); ok {
			return x
		}
		return strings.TrimSpace(answer)
	default:
		return ExtractNumber(answer)
	}
}

// Equal compares an extracted answer with the reference.
func (s Scorer) Equal(extracted, reference string) bool {
	if extracted == "" {
		return false
	}
	switch s {
	case Math:
		return MathEqual(extracted, reference)
	case Choice:
		return extracted == strings.TrimSpace(reference)
	case Exact:
		return extracted == strings.TrimSpace(reference)
	default:
		return NumbersEqual(extracted, reference)
	}
}

// Canon is the key under which majority voting (cons@K) counts an
// extracted answer: equal answers have equal keys.
func (s Scorer) Canon(extracted string) string {
	switch s {
	case Math:
		return canonMath(extracted)
	case Numeric:
		return canonNumber(extracted)
	}
	return extracted
}

// Verdict is the outcome of scoring one generated answer.
type Verdict struct {
	Answer    string // the answer with the reasoning dropped
	Reasoning string
	Extracted string
	Correct   bool
	// Why is "correct", "wrong", "no answer" or "unclosed reasoning".
	Why string
}

// Score drops the reasoning of g, extracts its answer and compares it
// with reference. An answer whose reasoning never closed is wrong and is
// not parsed.
func (s Scorer) Score(g Generation, reference string, choices []string) Verdict {
	answer, reasoning, closed := SplitReasoning(g)
	v := Verdict{Answer: answer, Reasoning: reasoning}
	switch {
	case !closed:
		v.Why = "unclosed reasoning"
	default:
		v.Extracted = s.Extract(answer, choices)
		v.Correct = s.Equal(v.Extracted, reference)
		switch {
		case v.Correct:
			v.Why = "correct"
		case v.Extracted == "":
			v.Why = "no answer"
		default:
			v.Why = "wrong"
		}
	}
	return v
}
