package eval

import (
	"regexp"
	"strings"
	"testing"
)

// This test checks the numeric scorer against lm-evaluation-harness's own
// gsm8k rules, written here from the task's definition
// (EleutherAI/lm-evaluation-harness, lm_eval/tasks/gsm8k/gsm8k.yaml,
// metadata version 3.0, and RegexFilter in lm_eval/filters/extraction.py):
//
//	filter "strict-match":     regex "#### (\-?[0-9\.\,]+)", take_first
//	filter "flexible-extract": regex "(-?[$0-9.,]{2,})|(-?[0-9]+)",
//	                           group_select -1 (the last match), take_first
//	no match:                  "[invalid]"
//	metric exact_match:        ignore_case, regexes_to_ignore ",", "\$",
//	                           "(?s).*#### ", "\.$" applied to the extracted
//	                           answer and to the dataset's answer field
var (
	harnessStrict   = regexp.MustCompile(`#### (\-?[0-9\.\,]+)`)
	harnessFlexible = regexp.MustCompile(`(-?[$0-9.,]{2,})|(-?[0-9]+)`)
	harnessIgnore   = []*regexp.Regexp{
		regexp.MustCompile(`,`), regexp.MustCompile(`\$`),
		regexp.MustCompile(`(?s).*#### `), regexp.MustCompile(`\.$`),
	}
)

// harnessFilter is RegexFilter.apply on one response.
func harnessFilter(re *regexp.Regexp, last bool, resp string) string {
	m := re.FindAllStringSubmatch(resp, -1)
	if m == nil {
		return "[invalid]"
	}
	pick := m[0]
	if last {
		pick = m[len(m)-1]
	}
	g := pick[0]
	if len(pick) > 1 { // Python's findall gives the groups; the first non-empty
		for _, s := range pick[1:] {
			if s != "" {
				g = s
				break
			}
		}
	}
	return strings.TrimSpace(g)
}

// harnessExactMatch is the exact_match metric with gsm8k.yaml's options.
func harnessExactMatch(pred, ref string) bool {
	clean := func(s string) string {
		for _, re := range harnessIgnore {
			s = re.ReplaceAllString(s, "")
		}
		return strings.ToLower(s)
	}
	return clean(pred) == clean(ref)
}

// gsm8kReference is what the gsm8k task keeps of the dataset's answer
// field as the reference: the number after "#### ".
func gsm8kReference(answer string) string {
	return strings.TrimSpace(answer[strings.LastIndex(answer, "####")+4:])
}

// recorded are answers as models write them to gsm8k questions, with the
// dataset's answer field of the question.
var recorded = []struct{ resp, answer string }{
	{"Natalia sold 48/2 = 24 clips in May.\nNatalia sold 48+24 = 72 clips altogether in April and May.\n#### 72",
		"Natalia sold 48/2 = <<48/2=24>>24 clips in May.\nNatalia sold 48+24 = <<48+24=72>>72 clips altogether in April and May.\n#### 72"},
	{"Weng earns 12/60 = $0.2 per minute.\nWorking 50 minutes, she earned 0.2 x 50 = $10.\n#### 11",
		"Weng earns 12/60 = $<<12/60=0.2>>0.2 per minute.\nWorking 50 minutes, she earned 0.2 x 50 = $<<0.2*50=10>>10.\n#### 10"},
	{"In total the company makes 1,000 widgets.\n#### 1,000", "They make 10 * 100 = <<10*100=1000>>1000 widgets.\n#### 1000"},
	{"He pays 5 * 52 = $260 a year.\n#### 260.", "5 * 52 = <<5*52=260>>260\n#### 260"},
	{"Janet sells 16 - 3 - 4 = 9 duck eggs a day.\nShe makes 9 * 2 = $18 every day at the farmer's market.\n#### 18",
		"Janet sells 16 - 3 - 4 = <<16-3-4=9>>9 duck eggs a day.\nShe makes 9 * 2 = $<<9*2=18>>18 every day at the farmer’s market.\n#### 18"},
	{"It takes 2/2=1 bolt of white fiber.\nSo the total amount of fabric is 2+1=3 bolts.\n#### -3", "2+1=<<2+1=3>>3\n#### 3"},
	{"The answer is 18.", "#### 18"},
	{"So she makes 9 * 2 = $18 every day.", "#### 18"},
	{"3 + 4 = 7 apples. Half of them, 3.5, are red.", "#### 7"},
	{"The temperature drops to -3 degrees", "#### -3"},
	{"There are 3 cars. Each has 4 wheels, so 12 wheels.", "#### 12"},
	{"The total is 5,000 dollars", "#### 5000"},
	{"I think 12. Or maybe 14", "#### 14"},
	{"so the answer is 8.\n", "#### 8"},
	{"He has 5, she has 7, together 12,", "#### 12"},
	{"#### $18", "#### 18"},
	{"Each costs $1.50, so 4 cost $6.00 in all.\n#### 6", "#### 6"},
	{"No number here at all.", "#### 4"},
}

func TestMatchesHarnessGSM8K(t *testing.T) {
	for _, r := range recorded {
		strict := harnessFilter(harnessStrict, false, r.resp)
		flex := harnessFilter(harnessFlexible, true, r.resp)
		v := Numeric.Score(Generation{Content: r.resp}, gsm8kReference(r.answer), nil)
		// The harness's strict verdict where "#### N" is there, its flexible
		// one otherwise (these answers hold no \boxed{}, and "answer is X"
		// only at their end, where both rules find the same number).
		want, rule := harnessExactMatch(flex, r.answer), "flexible-extract "+flex
		if strict != "[invalid]" {
			want, rule = harnessExactMatch(strict, r.answer), "strict-match "+strict
		}
		if v.Correct != want {
			t.Errorf("%q: correct = %v (extracted %q); lm-evaluation-harness %s: %v", r.resp, v.Correct, v.Extracted, rule, want)
		}
	}
}

// TestHarnessDifferences pins where the rules differ from the harness on
// purpose, each with the harness's verdict, so that a change shows.
func TestHarnessDifferences(t *testing.T) {
	tests := []struct {
		why, resp, answer string
		ours, harness     bool
	}{
		{"numbers compare by value", "#### 1200.50", "#### 1200.5", true, false},
		{"numbers compare by value", "The answer is 10.00", "#### 10", true, false},
		{"a leading dot is a number", "It costs .5 dollars", "#### 0.5", true, false},
		{"the last \\boxed{} before the last number", "So \\boxed{18} is the answer for 2 days", "#### 18", true, false},
		{"answer is X before the last number", "The answer is 18 dollars, because 9*2 is 18 and 2 days", "#### 18", true, false},
		{"a number only in the reasoning is no answer", "<think>so 7 apples</think>\nI am not sure.", "#### 7", false, true},
		{"unclosed reasoning is wrong", "<think>3 + 4 = 7", "#### 7", false, true},
	}
	for _, tt := range tests {
		flex := harnessFilter(harnessFlexible, true, tt.resp)
		if strict := harnessFilter(harnessStrict, false, tt.resp); strict != "[invalid]" {
			flex = strict
		}
		if got := harnessExactMatch(flex, tt.answer); got != tt.harness {
			t.Errorf("%s: %q: harness rules give %v, the test expects %v", tt.why, tt.resp, got, tt.harness)
		}
		if got := Numeric.Score(Generation{Content: tt.resp}, gsm8kReference(tt.answer), nil).Correct; got != tt.ours {
			t.Errorf("%s: %q: correct = %v, want %v", tt.why, tt.resp, got, tt.ours)
		}
	}
}
