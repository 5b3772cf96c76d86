package chat

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ardanlabs/jinja"
)

// builtin is the signature of a jinja filter or global function.
type builtin = func(args []jinja.Value, kwargs map[string]jinja.Value) (jinja.Value, error)

// Names of the template variables holding our replacements for parts of the
// jinja library that differ from Python Jinja2 as transformers configures
// it. The library looks filters up in its builtins before the template's
// variables and resolves string methods itself, so prepareSource rewrites
// a template to call these by their own names:
//
//	{{ x }}              -> {{ (x)|qilin_str }}   (None, floats, lists print as Python does)
//	x|tojson(indent=4)   -> x|qilin_tojson(...)   (key order, no HTML escaping, Python floats)
//	x|default('a')       -> x|qilin_default('a')  (only undefined is replaced, not none)
//	x|string             -> x|qilin_string        (str() of None, floats, containers)
//	s.split('a', 1)      -> s|qilin_split('a', 1) (maxsplit, rsplit, tuple prefixes, capitalize)
//
// The library parses ".name(args)" and "|name(args)" at the same
// precedence, left to right, so the rewritten expression has the shape of
// the original.
var (
	filterOverrides = map[string]string{
		"tojson":  "qilin_tojson",
		"default": "qilin_default",
		"d":       "qilin_default",
		"string":  "qilin_string",
	}
	methodOverrides = map[string]string{
		"split":      "qilin_split",
		"rsplit":     "qilin_rsplit",
		"startswith": "qilin_startswith",
		"endswith":   "qilin_endswith",
		"capitalize": "qilin_capitalize",
	}
	printFilter = "qilin_str"
	textVar     = "qilin_text"
)

// overrides returns the template variables that the rewritten template
// calls.
func overrides() map[string]builtin {
	return map[string]builtin{
		"qilin_tojson":     tojsonFilter,
		"qilin_default":    defaultFilter,
		"qilin_string":     stringFilter,
		printFilter:        stringFilter,
		"qilin_split":      splitMethod(false),
		"qilin_rsplit":     splitMethod(true),
		"qilin_startswith": affixMethod("startswith", strings.HasPrefix),
		"qilin_endswith":   affixMethod("endswith", strings.HasSuffix),
		"qilin_capitalize": capitalizeMethod,
	}
}

// prepareSource turns a chat template source into what the jinja library
// should compile so that the result matches Python Jinja2 as transformers
// configures it. It returns the rewritten source and the template's literal
// text pieces, which the rewritten source prints as {{ qilin_text[i] }}.
//
// Whitespace control is done here, the way Jinja2's lexer does it, because
// the library's version reaches past neighbouring tags (in
// "{% for %}{{ x }}\n{% endfor %}" its trim_blocks eats the newline after
// {{ x }}). With every piece of text moved into an expression the library
// has no text left to trim. Rules (Jinja2 3.1 lexer, trim_blocks and
// lstrip_blocks on):
//   - newlines are normalized to "\n" and one trailing newline is dropped
//     (keep_trailing_newline=False);
//   - "{%-", "{{-", "{#-" strip all whitespace before the tag; "-%}",
//     "-}}", "-#}" all whitespace after it;
//   - lstrip_blocks: before "{%" and "{#" (not "{%+"), blanks from the
//     start of the line up to the tag are removed;
//   - trim_blocks: one newline right after "%}" or "#}" (not "+%}") is
//     removed;
//   - comments are dropped, {% raw %} bodies become text.
//
// Inside tags the overrides above are applied. Tags are delimited as
// Jinja2 does: quoted strings inside expressions and statements may
// contain closers, comments run to the first "#}".
func prepareSource(src string) (string, []string) {
	src = strings.ReplaceAll(src, "\r\n", "\n")
	src = strings.ReplaceAll(src, "\r", "\n")
	src = strings.TrimSuffix(src, "\n")

	var out strings.Builder
	out.Grow(len(src) + len(src)/4)
	var texts []string
	emit := func(text string) {
		if text == "" {
			return
		}
		fmt.Fprintf(&out, "{{ %s[%d] }}", textVar, len(texts))
		texts = append(texts, text)
	}
	pos, lineStarting := 0, true
	for pos < len(src) {
		open, kind := nextTag(src, pos)
		if open < 0 {
			emit(src[pos:])
			break
		}
		text := src[pos:open]
		bodyStart := open + 2
		left := byte(0)
		if bodyStart < len(src) && (src[bodyStart] == '-' || src[bodyStart] == '+') {
			left = src[bodyStart]
			bodyStart++
		}
		emit(stripBefore(text, left, kind != '{', lineStarting))

		closer := string(kind) + "}"
		if kind == '{' {
			closer = "}}"
		}
		var end int
		var ok bool
		if kind == '#' {
			end = strings.Index(src[bodyStart:], closer)
			ok = end >= 0
			end += bodyStart
		} else {
			end, ok = findCloser(src, bodyStart, closer)
		}
		if !ok {
			// Unclosed: hand the rest over as it is and let the
			// compiler report it.
			out.WriteString(src[open:])
			break
		}
		bodyEnd, right := end, byte(0)
		if end > bodyStart && (src[end-1] == '-' || src[end-1] == '+') {
			right = src[end-1]
			bodyEnd--
		}
		body := src[bodyStart:bodyEnd]
		pos = end + 2

		switch {
		case kind == '#':
		case kind == '%' && strings.TrimSpace(body) == "raw":
			// {% raw %} ... {% endraw %}: the body is text.
			pos, lineStarting = skipAfter(src, pos, right, false)
			rawEnd, endLeft, endRight, after, found := findEndraw(src, pos)
			if !found {
				out.WriteString(src[open:])
				return out.String(), texts
			}
			emit(stripBefore(src[pos:rawEnd], endLeft, true, lineStarting))
			pos, lineStarting = skipAfter(src, after, endRight, true)
			continue
		case kind == '{':
			if strings.TrimSpace(body) == "" {
				out.WriteString("{{" + body + "}}") // let the compiler complain
			} else {
				out.WriteString("{{ (" + rewriteExpr(body) + ")|" + printFilter + " }}")
			}
		default:
			out.WriteString("{%" + rewriteExpr(body) + "%}")
		}
		pos, lineStarting = skipAfter(src, pos, right, kind != '{')
	}
	return out.String(), texts
}

// nextTag finds the next "{{", "{%" or "{#" at or after pos and returns
// its index and kind ('{', '%' or '#'), or -1.
func nextTag(src string, pos int) (int, byte) {
	for {
		i := strings.IndexByte(src[pos:], '{')
		if i < 0 || pos+i+1 >= len(src) {
			return -1, 0
		}
		pos += i
		if c := src[pos+1]; c == '{' || c == '%' || c == '#' {
			return pos, c
		}
		pos++
	}
}

// stripBefore applies whitespace control to the text before a tag: "-"
// strips all trailing whitespace; otherwise for a block or comment tag
// (lstrip_blocks), blanks between the line start and the tag go.
func stripBefore(text string, flag byte, block, lineStarting bool) string {
	if flag == '-' {
		return strings.TrimRightFunc(text, isPySpace)
	}
	if flag == '+' || !block {
		return text
	}
	l := strings.LastIndexByte(text, '\n') + 1
	if (l > 0 || lineStarting) && l < len(text) && strings.TrimLeftFunc(text[l:], isPySpace) == "" {
		return text[:l]
	}
	return text
}

// skipAfter applies whitespace control after a tag ending at pos: "-"
// skips all whitespace, a block or comment tag without "+" one newline
// (trim_blocks). It returns the new position and whether it starts a line
// as Jinja2 judges it (the tag's end match ended with a newline).
func skipAfter(src string, pos int, flag byte, block bool) (int, bool) {
	start := pos
	switch {
	case flag == '-':
		for pos < len(src) {
			r, size := utf8.DecodeRuneInString(src[pos:])
			if !isPySpace(r) {
				break
			}
			pos += size
		}
	case flag != '+' && block && pos < len(src) && src[pos] == '\n':
		pos++
	}
	return pos, pos > start && src[pos-1] == '\n'
}

// findEndraw finds "{% endraw %}" (with optional -/+ flags) at or after
// pos. It returns where the tag starts, its flags and where it ends.
func findEndraw(src string, pos int) (start int, left, right byte, after int, ok bool) {
	for {
		i := strings.Index(src[pos:], "{%")
		if i < 0 {
			return 0, 0, 0, 0, false
		}
		start = pos + i
		j := start + 2
		left = 0
		if j < len(src) && (src[j] == '-' || src[j] == '+') {
			left = src[j]
			j++
		}
		rest := strings.TrimLeftFunc(src[j:], isPySpace)
		if strings.HasPrefix(rest, "endraw") {
			k := len(src) - len(rest) + len("endraw")
			rest = strings.TrimLeftFunc(src[k:], isPySpace)
			k = len(src) - len(rest)
			right = 0
			if k < len(src) && (src[k] == '-' || src[k] == '+') {
				right = src[k]
				k++
			}
			if strings.HasPrefix(src[k:], "%}") {
				return start, left, right, k + 2, true
			}
		}
		pos = start + 2
	}
}

// isPySpace is Python's str.isspace for one character.
func isPySpace(r rune) bool {
	return unicode.IsSpace(r) || r >= 0x1c && r <= 0x1f
}

// findCloser returns the index of closer in src at or after i, skipping
// quoted strings.
func findCloser(src string, i int, closer string) (int, bool) {
	for i < len(src) {
		c := src[i]
		if c == '\'' || c == '"' {
			i = skipString(src, i)
			continue
		}
		if strings.HasPrefix(src[i:], closer) {
			return i, true
		}
		i++
	}
	return 0, false
}

// skipString returns the index just past the string literal opening at i.
func skipString(src string, i int) int {
	q := src[i]
	i++
	for i < len(src) && src[i] != q {
		if src[i] == '\\' && i+1 < len(src) {
			i++
		}
		i++
	}
	if i < len(src) {
		i++
	}
	return i
}

// rewriteExpr renames overridden filters and string methods in the body of
// one tag, leaving string literals alone.
func rewriteExpr(s string) string {
	var out strings.Builder
	lastSig := byte(0) // last non-space byte outside strings
	for j := 0; j < len(s); {
		c := s[j]
		switch {
		case c == '\'' || c == '"':
			k := skipString(s, j)
			lit := s[j+1 : k-1]
			if k-j < 2 || s[k-1] != c {
				lit = s[j+1 : k] // unterminated: the compiler reports it
			}
			out.WriteString(quoteForLibrary(pyUnescape(lit)))
			j, lastSig = k, c
			continue
		case isIdentStart(c):
			k := j + 1
			for k < len(s) && isIdentChar(s[k]) {
				k++
			}
			name := s[j:k]
			if repl, ok := filterOverrides[name]; ok && lastSig == '|' {
				name = repl
			}
			out.WriteString(name)
			if (name == "selectattr" || name == "rejectattr") && lastSig == '|' {
				// The library indexes past its arguments when only the
				// attribute is given (Jinja2: test its truthiness);
				// its own test name for that is "truthy".
				if end, ok := singleArgEnd(s, k); ok {
					out.WriteString(s[k:end] + ", 'truthy'")
					k = end
				}
			}
			j, lastSig = k, 'a'
			continue
		case c == '.' && lastSig != 0 && !isDigit(lastSig):
			k := j + 1
			for k < len(s) && isIdentChar(s[k]) {
				k++
			}
			p := k
			for p < len(s) && (s[p] == ' ' || s[p] == '\t') {
				p++
			}
			if repl, ok := methodOverrides[s[j+1:k]]; ok && p < len(s) && s[p] == '(' {
				out.WriteString("|" + repl)
				j, lastSig = k, 'a'
				continue
			}
		}
		out.WriteByte(c)
		if c != ' ' && c != '\t' && c != '\n' {
			lastSig = c
		}
		j++
	}
	return out.String()
}

// pyUnescape decodes the body of a Jinja2 string literal as Python does
// (Jinja2 decodes literals with the unicode-escape codec): \n, \t, \\,
// quotes, \a \b \f \v \r, octal, \xNN, \uNNNN, \UNNNNNNNN, and a
// backslash-newline is dropped. Unknown escapes stay as written. The jinja
// library only knows \n \t \\ \' and \".
func pyUnescape(s string) string {
	if !strings.Contains(s, "\\") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		i++
		switch c := s[i]; c {
		case '\n':
		case '\\', '\'', '"':
			b.WriteByte(c)
		case 'a':
			b.WriteByte('\a')
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'v':
			b.WriteByte('\v')
		case '0', '1', '2', '3', '4', '5', '6', '7':
			n, k := 0, i
			for k < len(s) && k < i+3 && s[k] >= '0' && s[k] <= '7' {
				n = n*8 + int(s[k]-'0')
				k++
			}
			b.WriteRune(rune(n))
			i = k - 1
		case 'x', 'u', 'U':
			digits := map[byte]int{'x': 2, 'u': 4, 'U': 8}[c]
			if r, err := strconv.ParseUint(s[i+1:min(len(s), i+1+digits)], 16, 32); err == nil && i+digits < len(s) && r <= unicode.MaxRune {
				b.WriteRune(rune(r))
				i += digits
				continue
			}
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte('\\')
			b.WriteByte(c)
		}
	}
	return b.String()
}

// quoteForLibrary writes s as a string literal that the jinja library
// decodes back to s.
func quoteForLibrary(s string) string {
	var b strings.Builder
	b.WriteByte('\'')
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' || s[i] == '\'' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('\'')
	return b.String()
}

// singleArgEnd reports whether s[i:] starts (after blanks) with a call
// argument list holding exactly one argument, and returns the index of its
// closing parenthesis.
func singleArgEnd(s string, i int) (int, bool) {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n') {
		i++
	}
	if i >= len(s) || s[i] != '(' {
		return 0, false
	}
	depth, empty := 0, true
	for j := i; j < len(s); {
		c := s[j]
		switch {
		case c == '\'' || c == '"':
			j = skipString(s, j)
			empty = false
			continue
		case c == '(' || c == '[' || c == '{':
			depth++
		case c == ')' || c == ']' || c == '}':
			depth--
			if depth == 0 {
				return j, !empty
			}
		case c == ',' && depth == 1:
			return 0, false
		case c != ' ' && c != '\t' && c != '\n':
			empty = false
		}
		j++
	}
	return 0, false
}

func isIdentStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isIdentChar(c byte) bool { return isIdentStart(c) || isDigit(c) }
