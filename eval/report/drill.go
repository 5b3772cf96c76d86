package report

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/qilin-ai/qilin/eval"
)

// The drill-down shows a bounded part of samples.jsonl, so that the page
// stays small for a run of thousands of answers: per task and model the
// first wrong answers and a few correct ones, each text cut to its start
// and end.
const (
	maxShown   = 12   // samples per task and model
	minCorrect = 4    // of which correct, where there are that many
	maxText    = 1600 // characters of one field
)

// drillGroup is one model's samples on one task.
type drillGroup struct {
	Model                 string
	Series                int
	Summary               string // what the group holds and shows
	Total, Correct, Shown int
	Samples               []sampleView
}

// sampleView is one sample, its texts cut to size.
type sampleView struct {
	ID, Sample, Budget, Mode  string
	Verdict                   string
	Correct                   bool
	Prompt, Reasoning, Raw    text
	Extracted, Answer, Finish string
	Tokens, Seconds           string
	Choices                   []choiceView
	// NLL and Perplexity, for a perplexity chunk: its summed negative
	// log-likelihood and exp of that per scored token.
	NLL, Perplexity string
}

// text is a field cut to at most maxText characters; Left counts those left out.
type text struct {
	Text string
	Left int
}

type choiceView struct {
	Letter, Text, LogLik string
	// Picked marks the extracted choice, Expected the reference.
	Picked, Expected bool
}

// drillDown picks each model's samples to show: wrong ones first (they are
// what a reader looks for), then correct ones, at most maxShown.
func drillDown(models []string, series map[string]int, groups map[string]*group) []drillGroup {
	var out []drillGroup
	for _, m := range models {
		g := groups[m]
		if g == nil {
			continue
		}
		nRight := min(len(g.right), max(minCorrect, maxShown-len(g.wrong)))
		nWrong := min(len(g.wrong), maxShown-nRight)
		d := drillGroup{Model: m, Series: series[m] % 8, Total: g.total, Correct: g.correct, Shown: nWrong + nRight}
		d.Summary = groupSummary(g) + fmt.Sprintf("; showing %d", d.Shown)
		if nWrong > 0 && nRight > 0 {
			d.Summary += ", wrong answers first"
		}
		for _, s := range append(g.wrong[:nWrong:nWrong], g.right[:nRight]...) {
			d.Samples = append(d.Samples, viewSample(s))
		}
		out = append(out, d)
	}
	return out
}

// groupSummary says what a group holds: per mode, how many samples and
// how many of them correct.
func groupSummary(g *group) string {
	var parts []string
	for _, m := range []struct{ mode, one, many string }{
		{"generate", "generated answer", "generated answers"},
		{"loglik", "item scored by log-likelihood", "items scored by log-likelihood"},
		{"perplexity", "chunk", "chunks"},
	} {
		c := g.byMode[m.mode]
		if c == nil {
			continue
		}
		what := m.many
		if c[1] == 1 {
			what = m.one
		}
		part := count(c[1]) + " " + what
		if m.mode == "perplexity" {
			part += " scored"
		} else {
			part += ", " + count(c[0]) + " correct"
		}
		parts = append(parts, part)
	}
	if len(parts) == 0 {
		return count(g.total) + " samples, " + count(g.correct) + " correct"
	}
	return strings.Join(parts, "; ")
}

func viewSample(s eval.Sample) sampleView {
	v := sampleView{
		ID: s.ID, Sample: strconv.Itoa(s.Sample), Mode: s.Mode, Verdict: s.Verdict, Correct: s.Correct,
		Prompt: cutText(s.Prompt), Reasoning: cutText(s.Reasoning), Raw: cutText(s.Raw),
		Extracted: cutText(s.Extracted).String(), Answer: cutText(s.Answer).String(), Finish: s.FinishReason,
		Tokens: count(s.Tokens.Prompt) + " prompt, " + count(s.Tokens.Completion) + " completion (" +
			count(s.Tokens.Reasoning) + " reasoning)",
		Seconds: strconv.FormatFloat(s.Seconds, 'f', 2, 64),
	}
	if v.Verdict == "" {
		v.Verdict = "wrong"
		if s.Correct {
			v.Verdict = "correct"
		}
	}
	if s.ThinkBudget != nil {
		v.Budget = strconv.Itoa(*s.ThinkBudget)
	}
	for i, c := range s.Choices {
		cv := choiceView{Letter: string(rune('A' + i%26)), Text: cutText(c).String()}
		cv.Picked, cv.Expected = cv.Letter == s.Extracted, cv.Letter == s.Answer
		if i < len(s.LogLik) {
			cv.LogLik = strconv.FormatFloat(s.LogLik[i], 'f', 3, 64)
		}
		v.Choices = append(v.Choices, cv)
	}
	if s.Mode == "perplexity" {
		v.NLL = strconv.FormatFloat(s.NLL, 'f', 3, 64)
		if s.Tokens.Prompt > 0 {
			v.Perplexity = strconv.FormatFloat(math.Exp(s.NLL/float64(s.Tokens.Prompt)), 'f', 3, 64)
		}
		v.Tokens = count(s.Tokens.Prompt)
	}
	return v
}

// cutText keeps the start and the end of a long field.
func cutText(s string) text {
	n := utf8.RuneCountInString(s)
	if n <= maxText {
		return text{Text: s}
	}
	r := []rune(s)
	head, tail := maxText*2/3, maxText/3
	return text{Text: string(r[:head]) + "\n…\n" + string(r[n-tail:]), Left: n - head - tail}
}

// String writes the field on one line, saying how much was left out.
func (t text) String() string {
	if t.Left == 0 {
		return t.Text
	}
	return strings.ReplaceAll(t.Text, "\n…\n", " … ") + " (" + plural(t.Left, "character") + " left out)"
}
