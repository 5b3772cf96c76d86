package eval

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSplitReasoning(t *testing.T) {
	type out struct {
		Answer, Reasoning string
		Closed            bool
	}
	tests := []struct {
		name string
		g    Generation
		want out
	}{
		{"no reasoning", Generation{Content: "The answer is 4."}, out{"The answer is 4.", "", true}},
		{"reasoning_content", Generation{Content: "4", ReasoningContent: "2+2 is 4"}, out{"4", "2+2 is 4", true}},
		{"inline think", Generation{Content: "<think>\n2+2=5? no, 4\n</think>\n\n#### 4"}, out{"\n\n#### 4", "\n2+2=5? no, 4\n", true}},
		{"prompt opened think", Generation{Content: "try 5\n</think>#### 4", ThinkOpen: true}, out{"#### 4", "try 5\n", true}},
		{"up to the first close", Generation{Content: "a</think>b</think>c", ThinkOpen: true}, out{"b</think>c", "a", true}},
		{"unclosed inline", Generation{Content: "<think>so it is 4"}, out{"", "so it is 4", false}},
		{"unclosed after prompt", Generation{Content: "so the answer is 4", ThinkOpen: true}, out{"", "so the answer is 4", false}},
		{"endpoint cut off in reasoning", Generation{ReasoningContent: "so far 4", FinishReason: "length"}, out{"", "so far 4", false}},
		{"endpoint answered empty", Generation{ReasoningContent: "hmm", FinishReason: "stop"}, out{"", "hmm", true}},
		{"text before think is not reasoning", Generation{Content: "x <think>y"}, out{"x <think>y", "", true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, r, c := SplitReasoning(tt.g)
			if diff := cmp.Diff(tt.want, out{a, r, c}); diff != "" {
				t.Errorf("SplitReasoning(%+v) (-want +got):\n%s", tt.g, diff)
			}
		})
	}
}

func TestExtractNumber(t *testing.T) {
	tests := []struct{ rule, in, want string }{
		{"hashes", "48/2 = 24\n#### 72", "72"},
		{"hashes", "#### 1,000", "1000"},
		{"hashes", "####-3", "-3"},
		{"hashes", "#### $18.", "18"},
		{"hashes first", "#### 5\n#### 6", "5"},
		{"hashes before boxed", "\\boxed{3}\n#### 4", "4"},
		{"boxed", "so \\boxed{18} dollars for 2 days", "18"},
		{"boxed last", "\\boxed{1} or rather \\boxed{2}", "2"},
		{"boxed nested", "\\boxed{\\text{\\$}1,250} is 3", "1250"},
		{"boxed with unit", "\\boxed{42 \\text{ apples}} in 3 baskets", "42"},
		{"boxed fraction", "so \\boxed{\\dfrac{3}{4}} of 8", "3/4"},
		{"boxed negative fraction", "\\boxed{-\\frac{1}{2}}", "-1/2"},
		{"boxed without number falls through", "\\boxed{x} the answer is 7", "7"},
		{"boxed before answer is", "answer is 5, \\boxed{6}", "6"},
		{"answer is", "The answer is 18 dollars, because 9*2", "18"},
		{"answer is", "So the final answer is: $1,234.", "1234"},
		{"answer colon", "Answer: **-7** (checked 3 times)", "-7"},
		{"answer is last", "an answer is 3; the answer is 4 of 5", "4"},
		{"answer is without number", "the answer is unknown, maybe 9", "9"},
		{"last number", "3 + 4 = 7 apples. Half, 3.5, are red.", "3.5"},
		{"last number", "She pays $1,200 in 12 months, $100 each", "100"},
		{"last number sentence end", "so 12.", "12"},
		{"last number leading dot", "about .5", ".5"},
		{"no number", "I do not know.", ""},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		if got := ExtractNumber(tt.in); got != tt.want {
			t.Errorf("%s: ExtractNumber(%q) = %q, want %q", tt.rule, tt.in, got, tt.want)
		}
	}
}

func TestNumbersEqual(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"42", "42", true},
		{"42.0", "42", true},
		{"42.", "42", true},
		{"$1,000", "1000", true},
		{"0.5", ".5", true},
		{"1/2", "0.5", true},
		{"-3", "3", false},
		{"41.9999", "42", false},
		{"1,000", "1", false},
		{"", "0", false},
		{"abc", "abc", true},
	}
	for _, tt := range tests {
		if got := NumbersEqual(tt.a, tt.b); got != tt.want {
			t.Errorf("NumbersEqual(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestScore(t *testing.T) {
	tests := []struct {
		name    string
		s       Scorer
		g       Generation
		ref     string
		choices []string
		want    Verdict
	}{
		{"numeric correct", Numeric, Generation{Content: "#### 42.0"}, "42", nil,
			Verdict{Answer: "#### 42.0", Extracted: "42.0", Correct: true, Why: "correct"}},
		{"reasoning ignored", Numeric, Generation{Content: "<think>it is 41</think>It is 42"}, "41", nil,
			Verdict{Answer: "It is 42", Reasoning: "it is 41", Extracted: "42", Why: "wrong"}},
		{"unclosed is wrong, not parsed", Numeric, Generation{Content: "it is 42", ThinkOpen: true}, "42", nil,
			Verdict{Reasoning: "it is 42", Why: "unclosed reasoning"}},
		{"no answer", Numeric, Generation{Content: "no idea"}, "42", nil,
			Verdict{Answer: "no idea", Why: "no answer"}},
		{"math", Math, Generation{Content: "so $\\boxed{\\dfrac{1}{2}}$"}, "\\frac12", nil,
			Verdict{Answer: "so $\\boxed{\\dfrac{1}{2}}$", Extracted: "\\dfrac{1}{2}", Correct: true, Why: "correct"}},
		{"choice", Choice, Generation{Content: "The answer is (C)."}, "C", []string{"a", "b", "c", "d"},
			Verdict{Answer: "The answer is (C).", Extracted: "C", Correct: true, Why: "correct"}},
		{"exact", Exact, Generation{Content: " Paris \n"}, "Paris", nil,
			Verdict{Answer: " Paris \n", Extracted: "Paris", Correct: true, Why: "correct"}},
		{"exact boxed", Exact, Generation{Content: "it is \\boxed{Paris}"}, "paris", nil,
			Verdict{Answer: "it is \\boxed{Paris}", Extracted: "Paris", Why: "wrong"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.s.Score(tt.g, tt.ref, tt.choices)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("%s.Score (-want +got):\n%s", tt.s, diff)
			}
		})
	}
}

func TestCanon(t *testing.T) {
	tests := []struct {
		s    Scorer
		a, b string
	}{
		{Numeric, "42.0", "42"},
		{Numeric, "$1,000", "1000"},
		{Math, "\\dfrac{1}{2}", "0.5"},
		{Math, "\\frac{2}{4}", "\\frac12"},
		{Choice, "B", "B"},
	}
	for _, tt := range tests {
		if ka, kb := tt.s.Canon(tt.a), tt.s.Canon(tt.b); ka != kb {
			t.Errorf("%s: Canon(%q) = %q, Canon(%q) = %q; want equal", tt.s, tt.a, ka, tt.b, kb)
		}
	}
	if Numeric.Canon("41") == Numeric.Canon("42") {
		t.Error("Canon(41) == Canon(42)")
	}
}

func TestParseScorer(t *testing.T) {
	for in, want := range map[string]Scorer{"": Numeric, "numeric": Numeric, "math": Math, "choice": Choice, "exact": Exact} {
		if got, err := ParseScorer(in); err != nil || got != want {
			t.Errorf("ParseScorer(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParseScorer("fuzzy"); err == nil {
		t.Error("ParseScorer(fuzzy): no error")
	}
}

func FuzzScore(f *testing.F) {
	for _, s := range []string{"#### 4", "\\boxed{\\frac{1}{2}", "answer is (B", "<think>", "a</think>\\boxed 3$", "\\fbox{{}}}"} {
		f.Add(s, "4")
	}
	f.Fuzz(func(t *testing.T, content, ref string) {
		for _, s := range []Scorer{Numeric, Math, Choice, Exact} {
			v := s.Score(Generation{Content: content}, ref, []string{"x", "y"})
			if v.Correct && v.Extracted == "" {
				t.Fatalf("%s: correct with nothing extracted from %q", s, content)
			}
			s.Canon(v.Extracted)
		}
	})
}
