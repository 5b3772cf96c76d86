package grammar

import (
	"math"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// refPending marks a $ref rule whose target is being compiled.
const refPending = "\x00"

// ref returns the rule for a "$ref" value, compiling its target once;
// recursive references name the rule before its body exists.
func (c *schemaConv) ref(ref *jvalue, path string) string {
	if ref.kind != jstring {
		fail(path, "$ref", "want a string")
	}
	if name, ok := c.refRules[ref.str]; ok {
		return name
	}
	target := c.resolve(ref.str, path)
	name := c.reserve("ref" + ref.str[1:])
	c.refRules[ref.str] = name
	if got := c.visit(target, name, strings.TrimPrefix(ref.str, "#")); got != name {
		c.rules[name] = got
	}
	return name
}

// reserve returns a free rule name like name, marking it taken.
func (c *schemaConv) reserve(name string) string {
	esc := invalidRuleChars.ReplaceAllString(name, "-")
	k := esc
	for i := 0; ; i++ {
		if _, ok := c.rules[k]; !ok {
			c.rules[k] = refPending
			return k
		}
		k = esc + strconv.Itoa(i)
	}
}

// resolve returns the subschema a local "$ref" points to.
func (c *schemaConv) resolve(ref, path string) *jvalue {
	frag, ok := strings.CutPrefix(ref, "#")
	if !ok {
		fail(path, "$ref", "only local references (#/...) are supported, not %q", ref)
	}
	frag, err := url.PathUnescape(frag)
	if err != nil {
		fail(path, "$ref", "bad reference %q", ref)
	}
	cur := c.root
	if frag == "" {
		return cur
	}
	if !strings.HasPrefix(frag, "/") {
		fail(path, "$ref", "anchors are not supported, only JSON pointers (#/...): %q", ref)
	}
	for _, tok := range strings.Split(frag[1:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		var next *jvalue
		switch cur.kind {
		case jobject:
			next = cur.get(tok)
		case jarray:
			if i, err := strconv.Atoi(tok); err == nil && i >= 0 && i < len(cur.arr) {
				next = cur.arr[i]
			}
		}
		if next == nil {
			fail(path, "$ref", "%q does not resolve", ref)
		}
		cur = next
	}
	return cur
}

// inferType names the type a schema without "type" is about, from its
// keywords, or "" for any value.
func inferType(s *jvalue) string {
	has := func(keys ...string) bool {
		for _, k := range keys {
			if s.get(k) != nil {
				return true
			}
		}
		return false
	}
	switch {
	case has("properties", "additionalProperties", "required"):
		return "object"
	case has("items", "prefixItems", "additionalItems", "minItems", "maxItems"):
		return "array"
	case has("pattern", "minLength", "maxLength") || s.get("format") != nil && stringFormat(s.get("format").str) != "":
		return "string"
	case has("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
		return "number"
	}
	return ""
}

// typeAllows reports whether a value of JSON type have satisfies type want.
func typeAllows(want, have string) bool {
	return want == have || want == "number" && have == "integer"
}

// visitFlat adds the rule for a schema without $ref, allOf, anyOf, oneOf
// or nullable at its top.
func (c *schemaConv) visitFlat(s *jvalue, name, path string) string {
	if s.kind != jobject {
		return c.visit(s, name, path)
	}
	checkKeywords(s, path)
	rn := ruleName(name)
	s = normalizeDraft4(s)
	typ := ""
	switch t := s.get("type"); {
	case t == nil:
		typ = inferType(s)
	case t.kind == jstring:
		typ = t.str
	case t.kind == jarray && len(t.arr) == 1 && t.arr[0].kind == jstring:
		typ = t.arr[0].str
	case t.kind == jarray && len(t.arr) > 1:
		var names []string
		for _, e := range t.arr {
			if e.kind != jstring {
				fail(path, "type", "want a type name or a list of them")
			}
			names = append(names, c.visitFlat(s.with("type", e), sub(name, e.str), path))
		}
		return c.addRule(rn, strings.Join(names, " | "))
	default:
		fail(path, "type", "want a type name or a non-empty list of them")
	}
	switch typ {
	case "", "object", "array", "string", "integer", "number", "boolean", "null":
	default:
		fail(path, "type", "unknown type %q", typ)
	}
	if v := s.get("const"); v != nil {
		if typ != "" && !typeAllows(typ, v.typeName()) {
			fail(path, "const", "the constant is not of type %q", typ)
		}
		if e := s.get("enum"); e != nil && !enumHas(e, v) {
			fail(path, "const", "the constant is not in enum")
		}
		return c.addRule(rn, gbnfLiteral(v.String())+" space")
	}
	if e := s.get("enum"); e != nil {
		if e.kind != jarray {
			fail(path, "enum", "want an array")
		}
		var lits []string
		for _, v := range e.arr {
			if typ == "" || typeAllows(typ, v.typeName()) {
				lits = append(lits, gbnfLiteral(v.String()))
			}
		}
		if len(lits) == 0 {
			fail(path, "enum", "no value of type %q", typ)
		}
		return c.addRule(rn, "("+strings.Join(lits, " | ")+") space")
	}
	switch typ {
	case "object":
		return c.addRule(rn, c.object(s, name, path))
	case "array":
		return c.addRule(rn, c.array(s, name, path))
	case "string":
		return c.addRule(rn, c.stringBody(s, name, path))
	case "integer", "number":
		return c.addRule(rn, c.numberBody(s, typ, path))
	case "boolean", "null":
		return c.addRule(rn, c.primitive(typ))
	}
	return c.addRule(rn, c.primitive("value"))
}

func enumHas(e, v *jvalue) bool {
	if e.kind != jarray {
		return false
	}
	for _, x := range e.arr {
		if x.String() == v.String() {
			return true
		}
	}
	return false
}

// normalizeDraft4 rewrites draft-4 boolean exclusiveMinimum/Maximum into
// the numeric form.
func normalizeDraft4(s *jvalue) *jvalue {
	for _, p := range [][2]string{{"exclusiveMinimum", "minimum"}, {"exclusiveMaximum", "maximum"}} {
		if e := s.get(p[0]); e != nil && e.kind == jbool {
			if e.b && s.get(p[1]) != nil {
				s = s.with(p[0], s.get(p[1])).with(p[1], nil)
			} else {
				s = s.with(p[0], nil)
			}
		}
	}
	return s
}

// intKeyword reads a non-negative integer keyword, or def if absent.
func intKeyword(s *jvalue, key, path string, def int) int {
	v := s.get(key)
	if v == nil {
		return def
	}
	if v.kind == jnumber {
		if f, err := strconv.ParseFloat(v.num, 64); err == nil && f >= 0 && f == math.Trunc(f) {
			if f > math.MaxInt32 {
				return math.MaxInt32
			}
			return int(f)
		}
	}
	fail(path, key, "want a non-negative integer")
	return 0
}

// numberBound reads the tighter of an inclusive and an exclusive bound.
func numberBound(s *jvalue, incl, excl, path string, lower bool) bound {
	var b bound
	for _, k := range []string{incl, excl} {
		v := s.get(k)
		if v == nil {
			continue
		}
		if v.kind != jnumber {
			fail(path, k, "want a number")
		}
		nb, err := roundBound(v.num, lower, k == excl)
		if err != nil {
			fail(path, k, "%v", err)
		}
		tighter := !b.set || (lower && (nb.v > b.v || nb.v == b.v && nb.excl)) || (!lower && (nb.v < b.v || nb.v == b.v && nb.excl))
		if tighter {
			b = nb
		}
	}
	return b
}

func (c *schemaConv) numberBody(s *jvalue, typ, path string) string {
	lo := numberBound(s, "minimum", "exclusiveMinimum", path, true)
	hi := numberBound(s, "maximum", "exclusiveMaximum", path, false)
	if !lo.set && !hi.set {
		return c.primitive(typ)
	}
	gen := numberGBNF
	if typ == "integer" {
		gen = integerGBNF
	}
	body, err := gen(lo, hi)
	if err != nil {
		fail(path, "minimum", "%v", err)
	}
	return "(" + body + ") space"
}

var uuidFormat = regexp.MustCompile(`^uuid[1-5]?$`)

// stringFormat returns the primitive rule of a supported format, or "".
func stringFormat(f string) string {
	switch {
	case f == "date" || f == "time" || f == "date-time" || f == "email" || f == "hostname" || f == "ipv4":
		return f + "-string"
	case uuidFormat.MatchString(f):
		return "uuid"
	}
	return ""
}

func (c *schemaConv) stringBody(s *jvalue, name, path string) string {
	minLen := intKeyword(s, "minLength", path, 0)
	maxLen := intKeyword(s, "maxLength", path, -1)
	if maxLen >= 0 && maxLen < minLen {
		fail(path, "maxLength", "below minLength")
	}
	lengths := s.get("minLength") != nil || s.get("maxLength") != nil
	if p := s.get("pattern"); p != nil {
		if p.kind != jstring {
			fail(path, "pattern", "want a string")
		}
		if lengths {
			fail(path, "pattern", "together with minLength or maxLength is not supported")
		}
		return c.pattern(p.str, path)
	}
	if f := s.get("format"); f != nil && f.kind == jstring && stringFormat(f.str) != "" {
		if lengths {
			fail(path, "format", "%q together with minLength or maxLength is not supported", f.str)
		}
		return c.primitive(stringFormat(f.str))
	}
	if !lengths {
		return c.primitive("string")
	}
	if minLen > maxRepetition {
		fail(path, "minLength", "above %d is not supported", maxRepetition)
	}
	if maxLen > maxRepetition {
		maxLen = maxRepetition // a tighter maximum: still only valid strings
	}
	return `"\"" ` + repetition(c.primitive("char"), minLen, maxLen, "") + ` "\"" space`
}

func (c *schemaConv) pattern(pat, path string) string {
	alts, starts, ends, err := parsePattern(pat)
	if err != nil {
		fail(path, "pattern", "%v", err)
	}
	char := c.primitive("char")
	var parts []string
	for i, a := range alts {
		var sb strings.Builder
		if !starts[i] {
			sb.WriteString(char + "* ")
		}
		a.gbnf(&sb)
		if !ends[i] {
			sb.WriteString(" " + char + "*")
		}
		parts = append(parts, sb.String())
	}
	return `"\"" (` + strings.Join(parts, " | ") + `) "\"" space`
}

// repetition writes item repeated min..max times (max < 0: unbounded),
// separated by sep if given, as llama.cpp's build_repetition.
func repetition(item string, min, max int, sep string) string {
	if max == 0 {
		return ""
	}
	if min == 0 && max == 1 {
		return item + "?"
	}
	if sep == "" {
		switch {
		case min == 0 && max < 0:
			return item + "*"
		case min == 1 && max < 0:
			return item + "+"
		case max < 0:
			return item + "{" + strconv.Itoa(min) + ",}"
		case min == max:
			return item + "{" + strconv.Itoa(min) + "}"
		}
		return item + "{" + strconv.Itoa(min) + "," + strconv.Itoa(max) + "}"
	}
	restMax := -1
	if max >= 0 {
		restMax = max - 1
	}
	out := item + " " + repetition("("+sep+" "+item+")", max0(min-1), restMax, "")
	if min == 0 {
		out = "(" + out + ")?"
	}
	return out
}

func max0(x int) int { return max(x, 0) }
