package grammar

// The parsed form of a GBNF grammar: rules whose bodies are alternatives of
// sequences of items, each item possibly repeated. compile.go turns it into
// byte-level automata.

// itemKind says what an item matches.
type itemKind uint8

const (
	itemLiteral itemKind = iota // lit: exact UTF-8 bytes
	itemClass                   // ranges (code points), negated if neg
	itemAny                     // "." : any code point
	itemRef                     // ref: another rule
	itemGroup                   // alts: a parenthesized group
	itemToken                   // tok: one whole token, <[id]> or <text>, negated by "!"
)

// cpRange is an inclusive range of Unicode code points.
type cpRange struct{ lo, hi rune }

// tokenRef names a token: by id (id >= 0) or by its text (id < 0).
type tokenRef struct {
	id   int
	text string
	not  bool // !<...>: any one token but this one
}

// item is one element of a sequence, repeated min..max times (max < 0: no
// upper bound; a plain item has min = max = 1).
type item struct {
	kind   itemKind
	lit    []byte
	ranges []cpRange
	neg    bool
	ref    int // rule index
	alts   [][]*item
	tok    tokenRef
	min    int
	max    int
}

// rule is a named rule: alternatives of sequences.
type rule struct {
	name    string
	alts    [][]*item
	defined bool // false while only referenced
}

// maxRepetition bounds the counts in {m,n}, as llama.cpp's
// MAX_REPETITION_THRESHOLD does: a larger minimum is an error and a larger
// maximum means no maximum.
const maxRepetition = 2000
