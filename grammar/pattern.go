package grammar

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// JSON Schema "pattern" (ECMA-262 syntax) to GBNF for the JSON string that
// encodes a matching value. Supported: literals and escapes, ".", classes
// with ranges and negation, \d \w \s and their negations, groups (also
// (?:...) and (?<name>...)), "|", and the quantifiers * + ? {n} {n,} {n,m}
// (lazy forms too). A pattern matches anywhere unless anchored by ^ and $
// at its ends (or at the ends of its top-level alternatives). Refused,
// with an error: backreferences, lookaround, \b \B, and anchors elsewhere.
//
// Where the validators' dialects differ (ECMA-262 and Go's RE2, which
// santhosh-tekuri/jsonschema and many servers use), the grammar takes the
// intersection: "." excludes \n, \r, U+2028 and U+2029; \s is [\t\n\f\r ].

type rxNode struct {
	kind     rxKind
	set      []cpRange // rxSet, normalized
	subs     []*rxNode // rxConcat, rxAlt
	min, max int       // rxRepeat of subs[0]; max < 0: unbounded
}

type rxKind uint8

const (
	rxSet rxKind = iota
	rxConcat
	rxAlt
	rxRepeat
)

type rxParser struct {
	src []rune
	pos int
}

// patternError reports an unsupported or malformed pattern.
type patternError struct{ msg string }

func (e *patternError) Error() string { return e.msg }

func (p *rxParser) fail(format string, args ...any) {
	panic(&patternError{fmt.Sprintf("pattern %q: ", string(p.src)) + fmt.Sprintf(format, args...)})
}

// parsePattern parses a whole pattern into its top-level alternatives,
// each with whether it is anchored at the start and at the end.
func parsePattern(src string) (alts []*rxNode, starts, ends []bool, err error) {
	if !utf8.ValidString(src) {
		return nil, nil, nil, &patternError{"pattern is not valid UTF-8"}
	}
	p := &rxParser{src: []rune(src)}
	defer func() {
		if r := recover(); r != nil {
			pe, ok := r.(*patternError)
			if !ok {
				panic(r)
			}
			err = pe
		}
	}()
	for {
		start := p.eat('^')
		seq, end := p.concat(true)
		alts = append(alts, seq)
		starts = append(starts, start)
		ends = append(ends, end)
		if p.pos >= len(p.src) {
			return alts, starts, ends, nil
		}
		if !p.eat('|') {
			p.fail("unbalanced ')'")
		}
	}
}

func (p *rxParser) eat(c rune) bool {
	if p.pos < len(p.src) && p.src[p.pos] == c {
		p.pos++
		return true
	}
	return false
}

func (p *rxParser) alternation() *rxNode {
	var subs []*rxNode
	for {
		seq, _ := p.concat(false)
		subs = append(subs, seq)
		if !p.eat('|') {
			break
		}
	}
	if len(subs) == 1 {
		return subs[0]
	}
	return &rxNode{kind: rxAlt, subs: subs}
}

// concat parses atoms up to "|", ")" or the end; at top level a final "$"
// is the end anchor.
func (p *rxParser) concat(top bool) (n *rxNode, anchoredEnd bool) {
	n = &rxNode{kind: rxConcat}
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		if c == '|' || c == ')' {
			break
		}
		if c == '$' {
			p.pos++
			if top && (p.pos == len(p.src) || p.src[p.pos] == '|') {
				return n, true
			}
			p.fail("$ is supported only at the end")
		}
		if c == '^' {
			p.fail("^ is supported only at the start")
		}
		atom := p.atom()
		n.subs = append(n.subs, p.quantified(atom))
	}
	return n, false
}

func (p *rxParser) quantified(atom *rxNode) *rxNode {
	for p.pos < len(p.src) {
		lo, hi := 0, -1
		switch p.src[p.pos] {
		case '*':
		case '+':
			lo = 1
		case '?':
			hi = 1
		case '{':
			save := p.pos
			var ok bool
			if lo, hi, ok = p.braces(); !ok {
				p.pos = save // a literal "{", as ECMA-262 (Annex B) reads it
				return atom
			}
			p.pos-- // braces consumed the "}"; the common path below steps over it
		default:
			return atom
		}
		p.pos++
		p.eat('?') // lazy: the same set of strings
		if lo > maxRepetition || hi > maxRepetition {
			p.fail("repetition count above %d", maxRepetition)
		}
		atom = &rxNode{kind: rxRepeat, subs: []*rxNode{atom}, min: lo, max: hi}
	}
	return atom
}

// braces parses {n}, {n,} or {n,m} at p.pos.
func (p *rxParser) braces() (lo, hi int, ok bool) {
	p.pos++
	num := func() (int, bool) {
		start := p.pos
		for p.pos < len(p.src) && '0' <= p.src[p.pos] && p.src[p.pos] <= '9' {
			p.pos++
		}
		if p.pos == start || p.pos-start > 6 {
			return 0, false
		}
		v, _ := strconv.Atoi(string(p.src[start:p.pos]))
		return v, true
	}
	lo, ok = num()
	if !ok {
		return 0, 0, false
	}
	hi = lo
	if p.eat(',') {
		hi = -1
		if p.pos < len(p.src) && p.src[p.pos] != '}' {
			if hi, ok = num(); !ok {
				return 0, 0, false
			}
		}
	}
	if !p.eat('}') {
		return 0, 0, false
	}
	if hi >= 0 && hi < lo {
		p.fail("repetition {%d,%d}: maximum below minimum", lo, hi)
	}
	return lo, hi, true
}

func (p *rxParser) atom() *rxNode {
	c := p.src[p.pos]
	p.pos++
	switch c {
	case '(':
		if p.eat('?') {
			switch {
			case p.eat(':'):
			case p.pos < len(p.src) && p.src[p.pos] == '<' && p.pos+1 < len(p.src) && p.src[p.pos+1] != '=' && p.src[p.pos+1] != '!':
				for p.pos < len(p.src) && p.src[p.pos] != '>' {
					p.pos++
				}
				if !p.eat('>') {
					p.fail("unterminated group name")
				}
			default:
				p.fail("lookaround (?=, ?!, ?<=, ?<!) is not supported")
			}
		}
		n := p.alternation()
		if !p.eat(')') {
			p.fail("missing ')'")
		}
		return n
	case '[':
		return &rxNode{kind: rxSet, set: p.class()}
	case '.':
		return &rxNode{kind: rxSet, set: complement(normalize([]cpRange{{'\n', '\n'}, {'\r', '\r'}, {0x2028, 0x2029}}))}
	case '\\':
		return &rxNode{kind: rxSet, set: p.escape(false)}
	case '*', '+', '?':
		p.fail("nothing to repeat before %q", c)
	}
	return &rxNode{kind: rxSet, set: []cpRange{{c, c}}}
}

var (
	rxDigit = []cpRange{{'0', '9'}}
	rxWord  = normalize([]cpRange{{'0', '9'}, {'A', 'Z'}, {'_', '_'}, {'a', 'z'}})
	rxSpace = normalize([]cpRange{{'\t', '\n'}, {'\f', '\r'}, {' ', ' '}})
	// rxSpaceECMA is ECMA-262's \s; \S excludes all of it.
	rxSpaceECMA = normalize([]cpRange{{'\t', '\r'}, {' ', ' '}, {0xA0, 0xA0}, {0x1680, 0x1680}, {0x2000, 0x200A},
		{0x2028, 0x2029}, {0x202F, 0x202F}, {0x205F, 0x205F}, {0x3000, 0x3000}, {0xFEFF, 0xFEFF}})
)

// escape parses the escape after a backslash.
func (p *rxParser) escape(inClass bool) []cpRange {
	if p.pos >= len(p.src) {
		p.fail("trailing backslash")
	}
	c := p.src[p.pos]
	p.pos++
	one := func(r rune) []cpRange { return []cpRange{{r, r}} }
	switch c {
	case 'd':
		return rxDigit
	case 'D':
		return complement(rxDigit)
	case 'w':
		return rxWord
	case 'W':
		return complement(rxWord)
	case 's':
		return rxSpace
	case 'S':
		return complement(rxSpaceECMA)
	case 'n':
		return one('\n')
	case 'r':
		return one('\r')
	case 't':
		return one('\t')
	case 'f':
		return one('\f')
	case 'v':
		return one('\v')
	case '0':
		return one(0)
	case 'x':
		return one(p.hexEscape(2))
	case 'u':
		return one(p.hexEscape(4))
	case 'b':
		if inClass {
			return one('\b')
		}
		p.fail(`\b (word boundary) is not supported`)
	case 'B':
		p.fail(`\B is not supported`)
	case 'c', 'p', 'P', 'k':
		p.fail(`\%c is not supported`, c)
	}
	if '1' <= c && c <= '9' {
		p.fail("backreferences are not supported")
	}
	if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' {
		p.fail(`unknown escape \%c`, c)
	}
	return one(c)
}

func (p *rxParser) hexEscape(n int) rune {
	if p.pos+n > len(p.src) {
		p.fail("short hex escape")
	}
	v, err := strconv.ParseUint(string(p.src[p.pos:p.pos+n]), 16, 32)
	if err != nil {
		p.fail("bad hex escape")
	}
	p.pos += n
	return rune(v)
}

// class parses a character class after "[".
func (p *rxParser) class() []cpRange {
	neg := p.eat('^')
	var rs []cpRange
	for {
		if p.pos >= len(p.src) {
			p.fail("missing ']'")
		}
		if p.src[p.pos] == ']' { // so "[]" matches nothing and "[^]" anything, as in ECMA-262
			p.pos++
			break
		}
		lo, single := p.classAtom()
		if single && p.pos+1 < len(p.src) && p.src[p.pos] == '-' && p.src[p.pos+1] != ']' {
			p.pos++
			hi, ok := p.classAtom()
			if !ok {
				p.fail("class range ending in a class escape")
			}
			if hi[0].lo < lo[0].lo {
				p.fail("class range out of order")
			}
			rs = append(rs, cpRange{lo[0].lo, hi[0].lo})
			continue
		}
		rs = append(rs, lo...)
	}
	rs = normalize(rs)
	if neg {
		return complement(rs)
	}
	return rs
}

// classAtom parses one member of a class; single reports a lone character
// (which may start a range).
func (p *rxParser) classAtom() ([]cpRange, bool) {
	c := p.src[p.pos]
	p.pos++
	if c != '\\' {
		return []cpRange{{c, c}}, true
	}
	rs := p.escape(true)
	return rs, len(rs) == 1 && rs[0].lo == rs[0].hi
}

// gbnf writes n as GBNF over the JSON encoding of the characters.
func (n *rxNode) gbnf(sb *strings.Builder) {
	switch n.kind {
	case rxSet:
		sb.WriteString(jsonCharsGBNF(n.set))
	case rxConcat:
		if len(n.subs) == 0 {
			sb.WriteString(`""`)
		}
		for i, s := range n.subs {
			if i > 0 {
				sb.WriteByte(' ')
			}
			s.gbnf(sb)
		}
	case rxAlt:
		sb.WriteByte('(')
		for i, s := range n.subs {
			if i > 0 {
				sb.WriteString(" | ")
			}
			s.gbnf(sb)
		}
		sb.WriteByte(')')
	case rxRepeat:
		sb.WriteByte('(')
		n.subs[0].gbnf(sb)
		sb.WriteByte(')')
		switch {
		case n.min == 0 && n.max < 0:
			sb.WriteByte('*')
		case n.min == 1 && n.max < 0:
			sb.WriteByte('+')
		case n.min == 0 && n.max == 1:
			sb.WriteByte('?')
		case n.max < 0:
			fmt.Fprintf(sb, "{%d,}", n.min)
		case n.min == n.max:
			fmt.Fprintf(sb, "{%d}", n.min)
		default:
			fmt.Fprintf(sb, "{%d,%d}", n.min, n.max)
		}
	}
}

// jsonCharsGBNF returns GBNF for one character of set as it appears inside
// a JSON string: raw where JSON allows it, escaped where it must be.
func jsonCharsGBNF(set []cpRange) string {
	var raw []cpRange
	var alts []string
	for _, r := range set {
		for c := r.lo; c <= r.hi && c < 0x20; c++ {
			alts = append(alts, gbnfLiteral(jsonQuote(string(c))[1:len(jsonQuote(string(c)))-1]))
		}
		lo := max(r.lo, 0x20)
		for _, special := range []rune{'"', '\\'} {
			if lo <= special && special <= r.hi {
				if lo < special {
					raw = append(raw, cpRange{lo, special - 1})
				}
				alts = append(alts, gbnfLiteral(`\`+string(special)))
				lo = special + 1
			}
		}
		if lo <= r.hi {
			raw = append(raw, cpRange{lo, r.hi})
		}
	}
	if len(raw) > 0 {
		alts = append([]string{gbnfClass(raw)}, alts...)
	}
	switch len(alts) {
	case 0:
		return `[^\x00-\U0010FFFF]` // matches nothing
	case 1:
		return alts[0]
	}
	return "(" + strings.Join(alts, " | ") + ")"
}

// gbnfClass writes code point ranges as a GBNF class.
func gbnfClass(rs []cpRange) string {
	var sb strings.Builder
	sb.WriteByte('[')
	for _, r := range rs {
		sb.WriteString(gbnfClassChar(r.lo))
		if r.hi != r.lo {
			sb.WriteByte('-')
			sb.WriteString(gbnfClassChar(r.hi))
		}
	}
	sb.WriteByte(']')
	return sb.String()
}

func gbnfClassChar(c rune) string {
	switch {
	case c == '\\' || c == ']' || c == '-' || c == '"' || c == '[':
		return `\` + string(c)
	case c < 0x20 || c == 0x7F || c == '^':
		return fmt.Sprintf(`\x%02X`, c)
	case c >= 0x80 && (c < 0xA0 || c == 0x2028 || c == 0x2029):
		return fmt.Sprintf(`\u%04X`, c)
	case c > 0xFFFF:
		return fmt.Sprintf(`\U%08X`, c)
	}
	return string(c)
}

// gbnfLiteral quotes s as a GBNF string literal.
func gbnfLiteral(s string) string {
	var sb strings.Builder
	sb.WriteByte('"')
	for _, c := range s {
		switch c {
		case '"':
			sb.WriteString(`\"`)
		case '\\':
			sb.WriteString(`\\`)
		case '\n':
			sb.WriteString(`\n`)
		case '\r':
			sb.WriteString(`\r`)
		case '\t':
			sb.WriteString(`\t`)
		default:
			if c < 0x20 || c == 0x7F {
				fmt.Fprintf(&sb, `\x%02X`, c)
			} else {
				sb.WriteRune(c)
			}
		}
	}
	sb.WriteByte('"')
	return sb.String()
}
