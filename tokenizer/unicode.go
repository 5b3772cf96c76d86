package tokenizer

import (
	"sync"
	"unicode"
	"unicode/utf8"
)

// Character classes used by the pre-tokenizer patterns. They are defined
// exactly as github.com/dlclark/regexp2 defines \p{L}, \p{N}, \p{P}, \p{S},
// \p{M} (Go's unicode category tables) and \s (unicode.IsSpace, i.e. the
// Unicode White_Space property), so that the hand-written splitters and the
// regexp2 reference implementation agree on every input.
const (
	clsLetter uint8 = 1 << iota // \p{L}
	clsNumber                   // \p{N}
	clsPunct                    // \p{P}
	clsSymbol                   // \p{S}
	clsMark                     // \p{M}
	clsSpace                    // \s
)

// classTable holds the class bits of every code point below U+10000; the
// rest are computed on demand.
type classTable [0x10000]uint8

// classes returns the class table, building it on first use (it takes a
// few milliseconds, which programs that never tokenize should not pay).
var classes = sync.OnceValue(func() *classTable {
	var t classTable
	for r := rune(0); r < 0x10000; r++ {
		t[r] = computeClass(r)
	}
	return &t
})

func computeClass(r rune) uint8 {
	var c uint8
	switch {
	case unicode.Is(unicode.L, r):
		c |= clsLetter
	case unicode.Is(unicode.N, r):
		c |= clsNumber
	case unicode.Is(unicode.P, r):
		c |= clsPunct
	case unicode.Is(unicode.S, r):
		c |= clsSymbol
	case unicode.Is(unicode.M, r):
		c |= clsMark
	}
	if unicode.IsSpace(r) {
		c |= clsSpace
	}
	return c
}

// decodeAt returns the rune starting at byte i of s, its width and its
// class bits. An invalid byte decodes as U+FFFD of width 1, as both Go and
// regexp2 treat it.
func (t *classTable) decodeAt(s string, i int) (rune, int, uint8) {
	if c := s[i]; c < utf8.RuneSelf {
		return rune(c), 1, t[c]
	}
	r, w := utf8.DecodeRuneInString(s[i:])
	if r < 0x10000 {
		return r, w, t[r]
	}
	return r, w, computeClass(r)
}

// utf8Len returns the length of the UTF-8 sequence that byte c starts,
// judged from its high bits only, like llama.cpp's unicode_len_utf8: the
// SentencePiece and BPE merge loops split text into symbols this way.
func utf8Len(c byte) int {
	switch c >> 4 {
	case 0xC, 0xD:
		return 2
	case 0xE:
		return 3
	case 0xF:
		return 4
	}
	return 1
}
