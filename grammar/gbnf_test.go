package grammar

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

// byteVocab holds every single byte as a token, then an EOG token.
func byteVocab() *Vocab {
	pieces := make([][]byte, 257)
	kinds := make([]TokenKind, 257)
	for b := range 256 {
		pieces[b] = []byte{byte(b)}
	}
	kinds[256] = TokenEOG
	v, err := NewVocab(pieces, kinds)
	if err != nil {
		panic(err)
	}
	return v
}

// feed accepts s byte by byte; it returns how many bytes were accepted.
func feed(m *Matcher, s string) int {
	for i := range len(s) {
		if m.Accept(int(s[i])) != nil {
			return i
		}
	}
	return len(s)
}

func TestParseErrors(t *testing.T) {
	cases := []struct{ src, want string }{
		{`root ::= "a`, "unterminated string"},
		{`root ::= [a`, "unterminated character class"},
		{`root ::= []`, "empty character class"},
		{`root ::= [z-a]`, "reversed"},
		{`root ::= "\q"`, `unknown escape \q`},
		{`root ::= "\x4"`, "hex digits"},
		{`root ::= "\uD800"`, "not a Unicode scalar value"},
		{`root ::= a`, `rule "a" is used but not defined`},
		{`a ::= "x"`, `no rule named "root"`},
		{`root ::= "x"` + "\n" + `root ::= "y"`, "defined twice"},
		{`root = "x"`, "expecting ::="},
		{`root ::= * "x"`, "expecting an item"},
		{`root ::= "x"{3,2}`, "maximum below minimum"},
		{`root ::= "x"{2001}`, "exceeds 2000"},
		{`root ::= "x"{1`, "expecting ',' or '}'"},
		{`root ::= ( "x"`, "expecting ')'"},
		{`root ::= "x" )`, "expecting newline"},
		{`root ::= root "x" | "y"`, "left-recursive"},
		{`root ::= a "x"` + "\n" + `a ::= "b"? root | "c"`, "left-recursive"},
		{`root ::= "x" root`, "matches no finite string"},
		{`root ::= <[12`, "expecting ']>'"},
		{`root ::= <abc`, "unterminated token"},
		{`root ::= !"x"`, "expecting '<'"},
		{"root ::= \"\xff\"", "invalid UTF-8"},
	}
	for _, c := range cases {
		_, err := Parse(c.src)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Parse(%q): err = %v, want one containing %q", c.src, err, c.want)
		}
	}
	var se *SyntaxError
	if _, err := Parse("root ::= \"a\"\nx ::= ["); !errors.As(err, &se) || se.Line != 2 {
		t.Errorf("syntax error position: %v (%+v)", err, se)
	}
}

// TestMatchStrings feeds whole strings byte by byte: accepted means every
// byte was allowed, complete that the grammar may end after them.
func TestMatchStrings(t *testing.T) {
	v := byteVocab()
	cases := []struct {
		src      string
		in       string
		accepted bool
		complete bool
	}{
		{`root ::= "abc"`, "abc", true, true},
		{`root ::= "abc"`, "ab", true, false},
		{`root ::= "abc"`, "abd", false, false},
		{`root ::= [a-c]+ "."`, "abcab.", true, true},
		{`root ::= [^a-c]`, "d", true, true},
		{`root ::= [^a-c]`, "b", false, false},
		{`root ::= [^a]`, "é", true, true},
		{`root ::= [^a]`, "\xc3", true, false}, // the start of a character
		{`root ::= "é"`, "\xc3\xa9", true, true},
		{`root ::= [é-ü]`, "ñ", true, true},
		{`root ::= [é-ü]`, "\xc3\xa0", false, false},
		{`root ::= .`, "中", true, true},
		{`root ::= .`, "\xed\xa0\x80", false, false}, // a surrogate is not UTF-8
		{`root ::= .`, "\xc0\x80", false, false},     // overlong
		{`root ::= "a"{2,3}`, "aaa", true, true},
		{`root ::= "a"{2,3}`, "aaaa", false, false},
		{`root ::= "a"{2}`, "a", true, false},
		{`root ::= "a"{2,}`, "aaaaaa", true, true},
		{`root ::= ("ab" | "a") "c"`, "abc", true, true},
		{`root ::= ("ab" | "a") "c"`, "ac", true, true},
		{`root ::= x x` + "\nx ::= \"a\" | \"\"", "a", true, true},
		{`root ::= x x` + "\nx ::= \"a\" | \"\"", "", true, true},
		{"root ::= \"(\" root \")\" | \"x\"", "((x))", true, true},
		{"root ::= \"(\" root \")\" | \"x\"", "((x)", true, false},
		{"root ::= \"(\" root \")\" | \"x\"", "((x)))", false, false},
		{"root ::= item (\",\" item)*\nitem ::= [0-9]+ # digits\n", "1,23,4", true, true},
		{"root ::= ( \"a\"\n  | \"b\" )\n", "b", true, true},
		{`root ::= "\x41\u00e9\U0001F600\t\n\\\"\[\]\-"`, "Aé😀\t\n\\\"[]-", true, true},
		{`root ::= [\]\-\\]+`, `]-\`, true, true},
		{`root ::= [a-]+`, `a-a`, true, true},
		{`root_x ::= "a"` + "\nroot ::= root_x", "a", true, true},
	}
	for _, c := range cases {
		g, err := Parse(c.src)
		if err != nil {
			t.Errorf("Parse(%q): %v", c.src, err)
			continue
		}
		m, err := NewMatcher(g, v)
		if err != nil {
			t.Fatal(err)
		}
		n := feed(m, c.in)
		if got := n == len(c.in); got != c.accepted || (got && m.CanEnd() != c.complete) {
			t.Errorf("%q on %q: accepted %v (%d bytes) complete %v, want %v %v", c.src, c.in, got, n, m.CanEnd(), c.accepted, c.complete)
		}
	}
}

func TestTokenTerminals(t *testing.T) {
	v, pieces, _ := synthVocab(1)
	start, think := len(pieces)-6, len(pieces)-5 // <|im_start|>, <think>
	g, err := Parse(`root ::= <think> (!<|im_start|>)* "x" <[` + itoa(start) + `]>`)
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewMatcher(g, v)
	if err != nil {
		t.Fatal(err)
	}
	mask := make([]uint64, v.MaskWords())
	m.Mask(mask)
	if got := setBits(mask, v.Size()); len(got) != 1 || got[0] != think {
		t.Fatalf("first mask %v, want only <think> (%d)", got, think)
	}
	if err := m.Accept(think); err != nil {
		t.Fatal(err)
	}
	m.Mask(mask)
	if mask[start>>6]&(1<<(start&63)) != 0 {
		t.Error("!<|im_start|> allows <|im_start|>")
	}
	if n := Count(mask); n < v.Size()-10 {
		t.Errorf("!<|im_start|> allows only %d tokens", n)
	}
	for _, id := range []int{'a', think, 'x', start} {
		if err := m.Accept(id); err != nil {
			t.Fatalf("accept %d: %v", id, err)
		}
	}
	if !m.CanEnd() || !m.Done() {
		t.Errorf("after the last token: CanEnd %v Done %v", m.CanEnd(), m.Done())
	}
	if _, err := NewMatcher(mustParse(t, `root ::= <nope>`), v); err == nil || !strings.Contains(err.Error(), "<nope>") {
		t.Errorf("unknown token: %v", err)
	}
	if _, err := NewMatcher(mustParse(t, `root ::= <[99999]>`), v); err == nil {
		t.Error("token id past the vocabulary: no error")
	}
}

func mustParse(t testing.TB, src string) *Grammar {
	t.Helper()
	g, err := Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func itoa(i int) string { return strconv.Itoa(i) }
