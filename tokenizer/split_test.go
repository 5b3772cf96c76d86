package tokenizer

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// splitSeeds are inputs that exercise every alternative of the patterns:
// contractions, letters with a leading space or symbol, digit runs, CJK,
// combining marks, newlines inside whitespace runs, trailing spaces, and
// invalid UTF-8.
var splitSeeds = []string{
	"",
	"Hello world",
	" Hello  world \n\n  x",
	"I'm you're WE'LL 'S 's'd'x can't",
	"12345678 1.5e10 ½ ² ٣٤٥",
	"深度求索 reasons step by step: 12+30=42, so the answer is",
	"ひらがな カタカナ゠ヿ゛ 漢字",
	"e\u0301 é ñ n\u0303",
	"func main() {\n\tfmt.Println(\"hi\")\r\n}\n",
	"   \t\n \r\n  ",
	"a\u00a0b\u2003c\u3000d\u0085e",
	"\xff\xfe abc \xe4\xb8 def",
	"$x += @y; // <|im_start|> ###",
	"'",
	"' ",
	" '",
	"\U0001F600\U0001F44D\u200d",
	"Привет мир Ελληνικά",
	"\x00\x01\x1c text",
	"!!a ~B_c .d",
	"नमस्ते दुनिया สวัสดีครับ",
	"\u0301x \u0301 1\u0301 !\u0301 '\u0301s a\u20dd\u20dd",
	" \u0300\u0301\n\u0302\r\u0303",
}

func checkSplitAgainstRegexp(t *testing.T, name, s string) {
	t.Helper()
	p := preTokenizers[name]
	want, err := p.splitRegexp(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := p.fast(s, nil)
	if diff := cmp.Diff(words(s, want), words(s, got)); diff != "" {
		t.Fatalf("%s split of %q differs from regexp2 (-want +got):\n%s", name, s, diff)
	}
}

func words(s string, ends []int) []string {
	var w []string
	start := 0
	for _, e := range ends {
		w = append(w, s[start:e])
		start = e
	}
	return w
}

func TestFastSplittersMatchRegexp(t *testing.T) {
	for _, name := range []string{"qwen2", "qwen35", "llama-bpe", "deepseek-v3"} {
		for _, s := range splitSeeds {
			checkSplitAgainstRegexp(t, name, s)
		}
	}
}

func TestSplitQwen2Words(t *testing.T) {
	got := words("Hello world's  12\n\n x", splitQwen2("Hello world's  12\n\n x", nil))
	want := []string{"Hello", " world", "'s", " ", " ", "1", "2", "\n\n", " x"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestSplitQwen35Marks checks where Qwen3.5 departs from Qwen2: combining
// marks join the letter runs (and may start one) instead of forming
// punctuation runs of their own.
func TestSplitQwen35Marks(t *testing.T) {
	for _, tc := range []struct {
		pre, in string
		want    []string
	}{
		{"qwen2", "nam\u0303 \u0301x!", []string{"nam", "\u0303", " \u0301", "x", "!"}},
		{"qwen35", "nam\u0303 \u0301x!", []string{"nam\u0303", " \u0301x", "!"}},
		{"qwen35", "नमस्ते 12", []string{"नमस्ते", " ", "1", "2"}},
	} {
		got := words(tc.in, preTokenizers[tc.pre].fast(tc.in, nil))
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s split of %q (-want +got):\n%s", tc.pre, tc.in, diff)
		}
	}
}

func fuzzSplit(f *testing.F, name string) {
	for _, s := range splitSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkSplitAgainstRegexp(t, name, s)
		if got := strings.Join(words(s, preTokenizers[name].fast(s, nil)), ""); got != s {
			t.Fatalf("words of %q do not cover it: %q", s, got)
		}
	})
}

func FuzzSplitQwen2(f *testing.F)      { fuzzSplit(f, "qwen2") }
func FuzzSplitQwen35(f *testing.F)     { fuzzSplit(f, "qwen35") }
func FuzzSplitLlama3(f *testing.F)     { fuzzSplit(f, "llama-bpe") }
func FuzzSplitDeepSeekV3(f *testing.F) { fuzzSplit(f, "deepseek-v3") }
