package grammar

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// SchemaError is a JSON Schema that cannot be compiled: malformed, using a
// keyword the compiler does not support (Keyword names it), or matching
// nothing. Servers answer it with 400.
type SchemaError struct {
	Path    string // JSON pointer of the subschema at fault ("" for the root)
	Keyword string // the keyword at fault, if any
	Msg     string
	Rule    string // for SchemasToGBNF: the rule of the schema at fault
}

func (e *SchemaError) Error() string {
	var sb strings.Builder
	sb.WriteString("json schema")
	if e.Path != "" {
		sb.WriteString(" at " + e.Path)
	}
	if e.Keyword != "" {
		sb.WriteString(": " + e.Keyword)
	}
	sb.WriteString(": " + e.Msg)
	return sb.String()
}

// FromJSONSchema compiles a JSON Schema to a grammar for the JSON texts it
// accepts (see SchemaToGBNF).
func FromJSONSchema(schema []byte) (*Grammar, error) {
	src, err := SchemaToGBNF(schema)
	if err != nil {
		return nil, err
	}
	g, err := Parse(src)
	if err != nil {
		// A schema that only refers to itself ({"$ref": "#"}) matches no
		// finite text; say so as a schema error.
		return nil, &SchemaError{Msg: "compiled grammar: " + strings.TrimPrefix(err.Error(), "grammar: ")}
	}
	return g, nil
}

// SchemaToGBNF returns the GBNF grammar a JSON Schema compiles to, shaped
// like llama.cpp's json-schema-to-grammar output: a value with bounded
// whitespace between tokens (at most a space, or one or two newlines and
// 20 blanks), so that an answer always ends.
//
// Supported: type (also lists of types), properties, required,
// additionalProperties, enum, const, items, prefixItems (and the older
// items-array with additionalItems), minItems, maxItems, minLength,
// maxLength, pattern (see below), minimum, maximum, exclusiveMinimum,
// exclusiveMaximum (numbers: bounds that are not integers are rounded
// inward), anyOf, oneOf (as anyOf: overlapping branches are not made
// exclusive), allOf (merged, also with anyOf inside), $ref to "#..."
// pointers ($defs, definitions, recursion), nullable, and the formats date,
// time, date-time, uuid, email, hostname and ipv4; other formats are
// annotations (as JSON Schema 2020-12 has it by default) and ignored.
// unevaluatedProperties and unevaluatedItems hold by construction: only
// declared properties and items are written. Keywords that constrain
// values in ways a grammar here cannot (not, if/then/else,
// patternProperties, propertyNames, min/maxProperties, contains,
// uniqueItems: true, multipleOf, dependentRequired, dependentSchemas,
// dependencies, $dynamicRef) are errors naming the keyword; unknown
// keywords are annotations.
//
// The grammar writes a subset of the valid instances, never an invalid
// one: properties in declaration order, required ones first, no
// properties beyond those declared unless additionalProperties allows
// them, integers of at most 16 digits unless a bound needs more, strings
// with non-surrogate \u escapes only.
func SchemaToGBNF(schema []byte) (src string, err error) {
	root, err := decodeJSON(schema)
	if err != nil {
		return "", &SchemaError{Msg: "not valid JSON: " + err.Error()}
	}
	c := &schemaConv{root: root, rules: map[string]string{"space": spaceRule}, refRules: map[string]string{}}
	defer catchSchemaError(&err)
	c.visit(root, "", "")
	return c.format(), nil
}

// catchSchemaError, deferred, turns the *SchemaError a compiler step
// panicked with (fail) into the returned error.
func catchSchemaError(err *error) {
	if r := recover(); r != nil {
		se, ok := r.(*SchemaError)
		if !ok {
			panic(r)
		}
		*err = se
	}
}

// spaceRule bounds whitespace between JSON tokens as llama.cpp's SPACE_RULE.
const spaceRule = `| " " | "\n"{1,2} [ \t]{0,20}`

// Primitive rules, named and written as in llama.cpp; char refuses the \u
// escapes of lone surrogates, which decode to no character.
var primitives = map[string]string{
	"boolean":       `("true" | "false") space`,
	"decimal-part":  `[0-9]{1,16}`,
	"integral-part": `[0] | [1-9] [0-9]{0,15}`,
	"number":        `("-"? integral-part) ("." decimal-part)? ([eE] [-+]? integral-part)? space`,
	"integer":       `("-"? integral-part) space`,
	"value":         `object | array | string | number | boolean | null`,
	"object":        `"{" space ( string ":" space value ("," space string ":" space value)* )? "}" space`,
	"array":         `"[" space ( value ("," space value)* )? "]" space`,
	"uuid":          `"\"" [0-9a-fA-F]{8} "-" [0-9a-fA-F]{4} "-" [0-9a-fA-F]{4} "-" [0-9a-fA-F]{4} "-" [0-9a-fA-F]{12} "\"" space`,
	"char":          `[^"\\\x7F\x00-\x1F] | [\\] (["\\/bfnrt] | "u" ([0-9a-cA-Ce-fE-F] [0-9a-fA-F]{3} | [dD] [0-7] [0-9a-fA-F]{2}))`,
	"string":        `"\"" char* "\"" space`,
	"null":          `"null" space`,
	// Formats. date allows 29 February in no year (a subset of valid
	// dates), time 3-digit fractions only, as llama.cpp's.
	"date":             `[0-9]{4} "-" ( ("0" [13578] | "1" [02]) "-" ("0" [1-9] | [12] [0-9] | "3" [01]) | ("0" [469] | "11") "-" ("0" [1-9] | [12] [0-9] | "30") | "02-" ("0" [1-9] | "1" [0-9] | "2" [0-8]) )`,
	"time":             `([01] [0-9] | "2" [0-3]) ":" [0-5] [0-9] ":" [0-5] [0-9] ( "." [0-9]{3} )? ( "Z" | ( "+" | "-" ) ( [01] [0-9] | "2" [0-3] ) ":" [0-5] [0-9] )`,
	"date-time":        `date "T" time`,
	"date-string":      `"\"" date "\"" space`,
	"time-string":      `"\"" time "\"" space`,
	"date-time-string": `"\"" date-time "\"" space`,
	// email, hostname and ipv4: conservative subsets (dot-atom local parts
	// of at most 63 characters, at most 4 labels of at most 63), so that
	// strict validators accept every one.
	"hostname-label":  `[a-zA-Z0-9] ([a-zA-Z0-9-]{0,61} [a-zA-Z0-9])?`,
	"hostname":        `hostname-label ("." hostname-label){0,3}`,
	"hostname-string": `"\"" hostname "\"" space`,
	"email-atom":      `[a-zA-Z0-9!#$%&'*+=?^_{|}~-]{1,15}`,
	"email-string":    `"\"" email-atom ("." email-atom){0,3} "@" hostname "\"" space`,
	"ipv4-octet":      `[0-9] | [1-9] [0-9] | "1" [0-9] [0-9] | "2" [0-4] [0-9] | "25" [0-5]`,
	"ipv4-string":     `"\"" ipv4-octet "." ipv4-octet "." ipv4-octet "." ipv4-octet "\"" space`,
}

// primitiveDeps lists the rules each primitive refers to.
var primitiveDeps = map[string][]string{
	"number": {"integral-part", "decimal-part"}, "integer": {"integral-part"},
	"value":  {"object", "array", "string", "number", "boolean", "null"},
	"object": {"string", "value"}, "array": {"value"}, "string": {"char"},
	"date-time": {"date", "time"}, "date-string": {"date"}, "time-string": {"time"},
	"date-time-string": {"date-time"},
	"hostname":         {"hostname-label"}, "hostname-string": {"hostname"},
	"email-string": {"email-atom", "hostname"}, "ipv4-string": {"ipv4-octet"},
}

type schemaConv struct {
	root     *jvalue
	rules    map[string]string
	refRules map[string]string // $ref -> rule name, set before the target is visited
	depth    int
}

func fail(path, keyword, format string, args ...any) {
	panic(&SchemaError{Path: path, Keyword: keyword, Msg: fmt.Sprintf(format, args...)})
}

var invalidRuleChars = regexp.MustCompile(`[^a-zA-Z0-9-]+`)

// addRule adds a rule named like name with body, returning the name used:
// name itself unless another rule already has it with a different body.
func (c *schemaConv) addRule(name, body string) string {
	esc := invalidRuleChars.ReplaceAllString(name, "-")
	if old, ok := c.rules[esc]; !ok || old == body || old == refPending {
		c.rules[esc] = body
		return esc
	}
	for i := 0; ; i++ {
		k := esc + strconv.Itoa(i)
		if old, ok := c.rules[k]; !ok || old == body {
			c.rules[k] = body
			return k
		}
	}
}

// primitive adds a primitive rule and its dependencies, returning its name.
func (c *schemaConv) primitive(name string) string {
	if _, ok := c.rules[name]; !ok {
		c.rules[name] = primitives[name]
		for _, d := range primitiveDeps[name] {
			c.primitive(d)
		}
	}
	return name
}

// ruleName is the name of the rule for the subschema at name ("" is the
// root), kept clear of the primitives' names.
func ruleName(name string) string {
	if name == "" {
		return "root"
	}
	if _, ok := primitives[name]; ok || name == "root" || name == "space" {
		return name + "-"
	}
	return name
}

func sub(name, part string) string {
	if name == "" {
		return part
	}
	return name + "-" + part
}

func (c *schemaConv) format() string {
	names := make([]string, 0, len(c.rules))
	for n := range c.rules {
		if n != "root" {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	var sb strings.Builder
	sb.WriteString("root ::= " + c.rules["root"] + "\n")
	for _, n := range names {
		sb.WriteString(n + " ::= " + c.rules[n] + "\n")
	}
	return sb.String()
}

// Keywords that carry no constraint here.
var annotations = map[string]bool{
	"title": true, "description": true, "default": true, "examples": true, "example": true,
	"$schema": true, "$id": true, "$comment": true, "deprecated": true, "readOnly": true,
	"writeOnly": true, "contentMediaType": true, "contentEncoding": true, "contentSchema": true,
	"$anchor": true, "$dynamicAnchor": true, "$defs": true, "definitions": true,
	"discriminator": true, "xml": true, "externalDocs": true, "$vocabulary": true,
	"unevaluatedProperties": true, "unevaluatedItems": true, "strict": true,
}

// Keywords that constrain values in ways this compiler does not support.
var unsupported = map[string]bool{
	"not": true, "if": true, "then": true, "else": true, "patternProperties": true,
	"propertyNames": true, "minProperties": true, "maxProperties": true, "contains": true,
	"minContains": true, "maxContains": true, "multipleOf": true, "dependentRequired": true,
	"dependentSchemas": true, "dependencies": true, "$dynamicRef": true, "$recursiveRef": true,
}

// checkKeywords refuses the unsupported keywords of s.
func checkKeywords(s *jvalue, path string) {
	for _, m := range s.obj {
		if unsupported[m.key] {
			fail(path, m.key, "not supported")
		}
		if m.key == "uniqueItems" && !(m.val.kind == jbool && !m.val.b) {
			fail(path, m.key, "not supported (only false)")
		}
	}
}

// constraining reports whether s has keywords other than annotations and
// those listed in except.
func constraining(s *jvalue, except ...string) bool {
	for _, m := range s.obj {
		if !annotations[m.key] && !slices.Contains(except, m.key) {
			return true
		}
	}
	return false
}

// visit adds the rule for schema s (at JSON pointer path) and returns its
// name.
func (c *schemaConv) visit(s *jvalue, name, path string) string {
	c.depth++
	defer func() { c.depth-- }()
	if c.depth > maxJSONDepth {
		fail(path, "", "nested deeper than %d levels", maxJSONDepth)
	}
	rn := ruleName(name)
	switch s.kind {
	case jbool:
		if !s.b {
			fail(path, "", "the schema false matches nothing")
		}
		return c.addRule(rn, c.primitive("value"))
	case jobject:
	default:
		fail(path, "", "a schema must be an object or a boolean")
	}
	checkKeywords(s, path)
	if ref := s.get("$ref"); ref != nil && !constraining(s, "$ref") {
		return c.addRule(rn, c.ref(ref, path))
	}
	if alts := s.get("anyOf"); alts != nil && !constraining(s, "anyOf") {
		return c.addRule(rn, c.union(alts, name, path, "anyOf"))
	}
	if alts := s.get("oneOf"); alts != nil && !constraining(s, "oneOf") {
		return c.addRule(rn, c.union(alts, name, path, "oneOf"))
	}
	if s.get("$ref") != nil || s.get("allOf") != nil || s.get("anyOf") != nil || s.get("oneOf") != nil || isTrue(s.get("nullable")) {
		alts := c.flatten(s, path, 0)
		if len(alts) == 0 {
			fail(path, "", "no value satisfies all of the subschemas")
		}
		if len(alts) == 1 {
			return c.visitFlat(alts[0], name, path)
		}
		var names []string
		for i, a := range alts {
			names = append(names, c.visitFlat(a, sub(name, "alt-"+strconv.Itoa(i)), path))
		}
		return c.addRule(rn, strings.Join(names, " | "))
	}
	return c.visitFlat(s, name, path)
}

func isTrue(v *jvalue) bool { return v != nil && v.kind == jbool && v.b }

// union adds rules for each schema of the array alts (under keyword).
func (c *schemaConv) union(alts *jvalue, name, path, keyword string) string {
	if alts.kind != jarray || len(alts.arr) == 0 {
		fail(path, keyword, "want a non-empty array of schemas")
	}
	var names []string
	for i, a := range alts.arr {
		names = append(names, c.visit(a, sub(name, keyword+"-"+strconv.Itoa(i)), path+"/"+keyword+"/"+strconv.Itoa(i)))
	}
	return strings.Join(names, " | ")
}
