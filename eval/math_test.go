package eval

import "testing"

func TestNormalizeMath(t *testing.T) {
	tests := []struct{ rule, in, want string }{
		{"boxed", "\\boxed{7}", "7"},
		{"dfrac", "\\dfrac{3}{4}", "\\frac{3}{4}"},
		{"tfrac", "\\tfrac{3}{4}", "\\frac{3}{4}"},
		{"short frac", "\\frac34", "\\frac{3}{4}"},
		{"half-short frac", "\\frac{10}3", "\\frac{10}{3}"},
		{"slash fraction", "3/4", "\\frac{3}{4}"},
		{"one half", "0.5", "\\frac{1}{2}"},
		{"whitespace", " x ^ 2 + 1 ", "x^2+1"},
		{"thin spaces", "1\\,000", "1000"},
		{"left right", "\\left( 1, 2 \\right)", "(1,2)"},
		{"units", "12 \\text{ cm}", "12"},
		{"text kept", "\\text{(B)}", "(B)"},
		{"degrees", "90^\\circ", "90"},
		{"degrees braced", "90^{\\circ}", "90"},
		{"dollars", "\\$5", "5"},
		{"percent", "25\\%", "25"},
		{"math delimiters", "$\\frac{1}{2}$", "\\frac{1}{2}"},
		{"leading variable", "x = 5", "5"},
		{"equation kept", "y = 2x + 1", "2x+1"},
		{"leading dot", ".25", "0.25"},
		{"sqrt", "2\\sqrt3", "2\\sqrt{3}"},
		{"trailing period", "7.", "7"},
		{"double backslash", "\\\\frac{1}{2}", "\\frac{1}{2}"},
	}
	for _, tt := range tests {
		if got := NormalizeMath(tt.in); got != tt.want {
			t.Errorf("%s: NormalizeMath(%q) = %q, want %q", tt.rule, tt.in, got, tt.want)
		}
	}
}

func TestMathEqual(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"\\dfrac{1}{2}", "\\frac12", true},
		{"\\frac{2}{4}", "\\frac{1}{2}", true},
		{"-\\frac{1}{2}", "-0.5", true},
		{"1/3", "\\frac{1}{3}", true},
		{"3.0", "3", true},
		{"1,000", "1000", true},
		{"(1,2)", "(12)", false},
		{"12 \\text{ inches}", "12", true},
		{"\\sqrt{2}", "\\sqrt2", true},
		{"x^2", "x^3", false},
		{"\\frac{1}{3}", "0.33", false},
		{"", "", false},
	}
	for _, tt := range tests {
		if got := MathEqual(tt.a, tt.b); got != tt.want {
			t.Errorf("MathEqual(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestExtractMath(t *testing.T) {
	tests := []struct{ rule, in, want string }{
		{"hashes", "so\n#### \\frac{1}{2}\n", "\\frac{1}{2}"},
		{"boxed last", "\\boxed{1} then $\\boxed{\\frac{a}{b}}$.", "\\frac{a}{b}"},
		{"boxed space", "$\\boxed 5$", "5"},
		{"boxed unclosed falls through", "\\boxed{\\frac{1}{2} the answer is 3", "3"},
		{"answer is", "The answer is $x^2+1$.", "x^2+1"},
		{"last number", "we get 3 and then 14", "14"},
		{"nothing", "hmm", ""},
	}
	for _, tt := range tests {
		if got := ExtractMath(tt.in); got != tt.want {
			t.Errorf("%s: ExtractMath(%q) = %q, want %q", tt.rule, tt.in, got, tt.want)
		}
	}
}
