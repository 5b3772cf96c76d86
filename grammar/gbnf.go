package grammar

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// SyntaxError is a GBNF parse error at a position of the source.
type SyntaxError struct {
	Line, Col int // 1-based; Col counts bytes
	Msg       string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("grammar: line %d col %d: %s", e.Line, e.Col, e.Msg)
}

// parser reads llama.cpp's GBNF: rules "name ::= alternatives" separated by
// newlines, where an alternative is a sequence of "literals", [classes],
// "." (any character), rule names, (groups), <tokens> and !<tokens>, each
// optionally followed by *, +, ?, {m}, {m,} or {m,n}. Newlines end a rule
// except inside parentheses and after "|"; "#" starts a comment.
type parser struct {
	src   string
	pos   int
	rules []*rule
	index map[string]int
}

// parseGBNF parses src into rules; rule 0 is not special, the caller looks
// up "root".
func parseGBNF(src string) (rules []*rule, index map[string]int, err error) {
	p := &parser{src: src, index: map[string]int{}}
	defer func() {
		if r := recover(); r != nil {
			se, ok := r.(*SyntaxError)
			if !ok {
				panic(r)
			}
			rules, index, err = nil, nil, se
		}
	}()
	p.space(true)
	for p.pos < len(p.src) {
		p.parseRule()
	}
	for _, r := range p.rules {
		if !r.defined {
			return nil, nil, fmt.Errorf("grammar: rule %q is used but not defined", r.name)
		}
	}
	return p.rules, p.index, nil
}

// fail aborts parsing with a SyntaxError at the current position.
func (p *parser) fail(format string, args ...any) {
	line := 1 + strings.Count(p.src[:p.pos], "\n")
	col := p.pos - strings.LastIndexByte(p.src[:p.pos], '\n')
	panic(&SyntaxError{Line: line, Col: col, Msg: fmt.Sprintf(format, args...)})
}

func (p *parser) peek() byte {
	if p.pos < len(p.src) {
		return p.src[p.pos]
	}
	return 0
}

func (p *parser) eof() bool { return p.pos >= len(p.src) }

// space skips blanks and comments, and newlines too when newlineOK.
func (p *parser) space(newlineOK bool) {
	for p.pos < len(p.src) {
		switch c := p.src[p.pos]; {
		case c == ' ' || c == '\t':
			p.pos++
		case c == '#':
			for p.pos < len(p.src) && p.src[p.pos] != '\n' && p.src[p.pos] != '\r' {
				p.pos++
			}
		case newlineOK && (c == '\n' || c == '\r'):
			p.pos++
		default:
			return
		}
	}
}

func isWordChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_'
}

func (p *parser) name() string {
	start := p.pos
	for p.pos < len(p.src) && isWordChar(p.src[p.pos]) {
		p.pos++
	}
	if p.pos == start {
		p.fail("expecting a rule name")
	}
	return p.src[start:p.pos]
}

// ruleIndex returns the index of the rule called name, adding it as
// undefined on first use.
func (p *parser) ruleIndex(name string) int {
	if i, ok := p.index[name]; ok {
		return i
	}
	p.index[name] = len(p.rules)
	p.rules = append(p.rules, &rule{name: name})
	return len(p.rules) - 1
}

func (p *parser) parseRule() {
	name := p.name()
	p.space(false)
	if !strings.HasPrefix(p.src[p.pos:], "::=") {
		p.fail("expecting ::= after %q", name)
	}
	r := p.rules[p.ruleIndex(name)]
	if r.defined {
		p.fail("rule %q is defined twice", name)
	}
	r.defined = true
	p.pos += 3
	p.space(true)
	r.alts = p.alternates(false)
	switch {
	case p.eof():
	case p.peek() == '\r':
		p.pos++
		if p.peek() == '\n' {
			p.pos++
		}
	case p.peek() == '\n':
		p.pos++
	default:
		p.fail("expecting newline or end of input, found %q", p.peek())
	}
	p.space(true)
}

// alternates parses seq ("|" seq)*.
func (p *parser) alternates(nested bool) [][]*item {
	alts := [][]*item{p.sequence(nested)}
	for p.peek() == '|' {
		p.pos++
		p.space(true)
		alts = append(alts, p.sequence(nested))
	}
	return alts
}

func (p *parser) sequence(nested bool) []*item {
	var seq []*item
	for !p.eof() {
		c := p.peek()
		switch {
		case c == '"':
			p.pos++
			var lit []byte
			for p.peek() != '"' {
				if p.eof() {
					p.fail("unterminated string literal")
				}
				lit = utf8.AppendRune(lit, p.char())
			}
			p.pos++
			seq = append(seq, &item{kind: itemLiteral, lit: lit, min: 1, max: 1})
		case c == '[':
			seq = append(seq, p.class())
		case c == '<' || c == '!':
			seq = append(seq, p.token())
		case isWordChar(c):
			seq = append(seq, &item{kind: itemRef, ref: p.ruleIndex(p.name()), min: 1, max: 1})
		case c == '(':
			p.pos++
			p.space(true)
			alts := p.alternates(true)
			if p.peek() != ')' {
				p.fail("expecting ')'")
			}
			p.pos++
			seq = append(seq, &item{kind: itemGroup, alts: alts, min: 1, max: 1})
		case c == '.':
			p.pos++
			seq = append(seq, &item{kind: itemAny, min: 1, max: 1})
		case c == '*' || c == '+' || c == '?' || c == '{':
			if len(seq) == 0 {
				p.fail("expecting an item before %q", c)
			}
			seq[len(seq)-1] = p.repeat(seq[len(seq)-1], nested)
			continue // repeat skipped the space after it
		default:
			return seq
		}
		p.space(nested)
	}
	return seq
}

// repeat parses a repetition operator and applies it to it.
func (p *parser) repeat(it *item, nested bool) *item {
	lo, hi := 0, -1
	switch p.peek() {
	case '*':
		p.pos++
	case '+':
		p.pos++
		lo = 1
	case '?':
		p.pos++
		hi = 1
	case '{':
		p.pos++
		p.space(nested)
		lo = p.int()
		p.space(nested)
		switch p.peek() {
		case '}':
			hi = lo
		case ',':
			p.pos++
			p.space(nested)
			if c := p.peek(); '0' <= c && c <= '9' {
				hi = p.int()
				p.space(nested)
			}
			if p.peek() != '}' {
				p.fail("expecting '}'")
			}
		default:
			p.fail("expecting ',' or '}' in repetition")
		}
		p.pos++
		if lo > maxRepetition {
			p.fail("repetition count %d exceeds %d", lo, maxRepetition)
		}
		if hi > maxRepetition {
			hi = -1
		}
		if hi >= 0 && hi < lo {
			p.fail("repetition {%d,%d}: maximum below minimum", lo, hi)
		}
	}
	p.space(nested)
	if it.min == 1 && it.max == 1 {
		it.min, it.max = lo, hi
		return it
	}
	// Already repeated (as in "a{2}*"): repeat the repetition.
	return &item{kind: itemGroup, alts: [][]*item{{it}}, min: lo, max: hi}
}

func (p *parser) int() int {
	start := p.pos
	for p.pos < len(p.src) && '0' <= p.src[p.pos] && p.src[p.pos] <= '9' {
		p.pos++
	}
	if p.pos == start {
		p.fail("expecting an integer")
	}
	n, err := strconv.Atoi(p.src[start:p.pos])
	if err != nil || n > 1<<30 {
		p.pos = start
		p.fail("integer %s out of range", p.src[start:p.pos])
	}
	return n
}

// char parses one character of a literal or class: a UTF-8 character or
// an escape (\x.. \u.... \U........ \t \r \n \\ \" \[ \] \-).
func (p *parser) char() rune {
	if p.peek() == '\\' {
		if p.pos+1 >= len(p.src) {
			p.fail("unexpected end of input after '\\'")
		}
		c := p.src[p.pos+1]
		p.pos += 2
		switch c {
		case 'x':
			return p.hex(2)
		case 'u':
			return p.hex(4)
		case 'U':
			return p.hex(8)
		case 't':
			return '\t'
		case 'r':
			return '\r'
		case 'n':
			return '\n'
		case '\\', '"', '[', ']', '-':
			return rune(c)
		}
		p.pos -= 2
		p.fail("unknown escape \\%c", c)
	}
	r, n := utf8.DecodeRuneInString(p.src[p.pos:])
	if r == utf8.RuneError && n <= 1 {
		p.fail("invalid UTF-8")
	}
	p.pos += n
	return r
}

func (p *parser) hex(n int) rune {
	if p.pos+n > len(p.src) {
		p.fail("expecting %d hex digits", n)
	}
	v, err := strconv.ParseUint(p.src[p.pos:p.pos+n], 16, 32)
	if err != nil {
		p.fail("expecting %d hex digits", n)
	}
	if v > utf8.MaxRune || (0xD800 <= v && v <= 0xDFFF) {
		p.fail("escape \\%s is not a Unicode scalar value", p.src[p.pos-1:p.pos+n])
	}
	p.pos += n
	return rune(v)
}

// class parses [...] or [^...].
func (p *parser) class() *item {
	p.pos++ // '['
	it := &item{kind: itemClass, min: 1, max: 1}
	if p.peek() == '^' {
		p.pos++
		it.neg = true
	}
	for p.peek() != ']' {
		if p.eof() {
			p.fail("unterminated character class")
		}
		lo := p.char()
		hi := lo
		if p.peek() == '-' && p.pos+1 < len(p.src) && p.src[p.pos+1] != ']' {
			p.pos++
			hi = p.char()
			if hi < lo {
				p.fail("character range %q-%q is reversed", lo, hi)
			}
		}
		it.ranges = append(it.ranges, cpRange{lo, hi})
	}
	p.pos++
	if len(it.ranges) == 0 {
		p.fail("empty character class")
	}
	return it
}

// token parses <[id]>, <text> or either preceded by "!".
func (p *parser) token() *item {
	it := &item{kind: itemToken, min: 1, max: 1}
	if p.peek() == '!' {
		it.tok.not = true
		p.pos++
	}
	if p.peek() != '<' {
		p.fail("expecting '<' after '!'")
	}
	start := p.pos
	p.pos++
	if p.peek() == '[' {
		p.pos++
		it.tok.id = p.int()
		if p.peek() != ']' || p.pos+1 >= len(p.src) || p.src[p.pos+1] != '>' {
			p.fail("expecting ']>' after a token id")
		}
		p.pos += 2
		return it
	}
	end := strings.IndexByte(p.src[p.pos:], '>')
	if end < 0 {
		p.fail("unterminated token <...>")
	}
	p.pos += end + 1
	it.tok.id = -1
	it.tok.text = p.src[start:p.pos]
	return it
}
