package eval

import "testing"

func TestExtractChoice(t *testing.T) {
	choices := []string{"Paris", "London", "Rome", "Berlin"}
	tests := []struct{ rule, in, want string }{
		{"hashes", "#### C", "C"},
		{"boxed", "so \\boxed{\\text{B}}", "B"},
		{"answer is", "The answer is (D).", "D"},
		{"answer colon bold", "Answer: **A**", "A"},
		{"leading letter", "B. London is the capital", "B"},
		{"leading letter alone", "C", "C"},
		{"leading paren", "(A) Paris", "A"},
		{"last parenthesized", "Not (A); it must be (C) here", "C"},
		{"out of range letter", "The answer is (E)", ""},
		{"choice text", "It is Rome, of course", "C"},
		{"two choice texts", "Rome or Paris", ""},
		{"article is not a letter", "A city in Italy", ""},
		{"nothing", "no idea", ""},
	}
	for _, tt := range tests {
		if got := ExtractChoice(tt.in, len(choices), choices); got != tt.want {
			t.Errorf("%s: ExtractChoice(%q) = %q, want %q", tt.rule, tt.in, got, tt.want)
		}
	}
}
