package chat

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ardanlabs/jinja"
)

// pyStr is Python's str(v) for template values; undefined prints as "",
// as Jinja2's default Undefined does.
func pyStr(v jinja.Value) string {
	switch {
	case v.IsUndefined(), v.IsCallable():
		return ""
	case v.IsString():
		return v.AsString()
	}
	var sb strings.Builder
	writeRepr(&sb, v, 0)
	return sb.String()
}

// writeRepr writes Python's repr(v).
func writeRepr(sb *strings.Builder, v jinja.Value, depth int) {
	if depth > 200 {
		sb.WriteString("...")
		return
	}
	switch {
	case v.IsNone():
		sb.WriteString("None")
	case v.IsBool():
		if v.AsBool() {
			sb.WriteString("True")
		} else {
			sb.WriteString("False")
		}
	case v.IsInt():
		sb.WriteString(strconv.FormatInt(v.AsInt(), 10))
	case v.IsFloat():
		sb.WriteString(pyFloatRepr(v.AsFloat(), false))
	case v.IsString():
		writeStrRepr(sb, v.AsString())
	case v.IsList():
		sb.WriteByte('[')
		for i, x := range v.AsList().Items {
			if i > 0 {
				sb.WriteString(", ")
			}
			writeRepr(sb, x, depth+1)
		}
		sb.WriteByte(']')
	case v.IsDict():
		d := v.AsDict()
		sb.WriteByte('{')
		for i, k := range d.Keys {
			if i > 0 {
				sb.WriteString(", ")
			}
			writeStrRepr(sb, k)
			sb.WriteString(": ")
			x, _ := d.Get(k)
			writeRepr(sb, x, depth+1)
		}
		sb.WriteByte('}')
	case v.IsUndefined():
		sb.WriteString("Undefined")
	default:
		sb.WriteString("<function>")
	}
}

// writeStrRepr writes Python's repr of a str: single quotes unless the text
// holds ' and no ", escapes for backslash, the quote and unprintable
// characters.
func writeStrRepr(sb *strings.Builder, s string) {
	q := byte('\'')
	if strings.IndexByte(s, '\'') >= 0 && strings.IndexByte(s, '"') < 0 {
		q = '"'
	}
	sb.WriteByte(q)
	for _, r := range s {
		switch {
		case r == rune(q) || r == '\\':
			sb.WriteByte('\\')
			sb.WriteRune(r)
		case r == '\n':
			sb.WriteString(`\n`)
		case r == '\r':
			sb.WriteString(`\r`)
		case r == '\t':
			sb.WriteString(`\t`)
		case r == utf8.RuneError || r == ' ' || unicode.IsPrint(r):
			sb.WriteRune(r)
		case r < 0x100:
			fmt.Fprintf(sb, `\x%02x`, r)
		case r < 0x10000:
			fmt.Fprintf(sb, `\u%04x`, r)
		default:
			fmt.Fprintf(sb, `\U%08x`, r)
		}
	}
	sb.WriteByte(q)
}

// stringFilter is Jinja2's string filter (and our output conversion):
// str(value).
func stringFilter(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
	if len(args) == 0 {
		return jinja.NewString(""), nil
	}
	if args[0].IsString() {
		return args[0], nil
	}
	return jinja.NewString(pyStr(args[0])), nil
}

// defaultFilter is Jinja2's default(value, default_value="",
// boolean=False): only an undefined value is replaced, or any falsy one
// when boolean is true.
func defaultFilter(args []jinja.Value, kwargs map[string]jinja.Value) (jinja.Value, error) {
	if len(args) == 0 {
		return jinja.Undefined(), errors.New("default: no value")
	}
	def, boolean := jinja.NewString(""), false
	if len(args) > 1 {
		def = args[1]
	}
	if len(args) > 2 {
		boolean = args[2].IsTruthy()
	}
	if v, ok := kwargs["default_value"]; ok {
		def = v
	}
	if v, ok := kwargs["boolean"]; ok {
		boolean = v.IsTruthy()
	}
	v := args[0]
	if v.IsUndefined() || (boolean && !v.IsTruthy()) {
		return def, nil
	}
	return v, nil
}

// receiver returns the string a str method was called on, or Python's
// AttributeError for anything else.
func receiver(method string, args []jinja.Value) (string, error) {
	if len(args) == 0 {
		return "", fmt.Errorf("%s: no receiver", method)
	}
	if !args[0].IsString() {
		return "", fmt.Errorf("'%s' object has no attribute '%s'", kindName(args[0]), method)
	}
	return args[0].AsString(), nil
}

// splitMethod implements str.split / str.rsplit(sep=None, maxsplit=-1).
func splitMethod(fromRight bool) builtin {
	name := "split"
	if fromRight {
		name = "rsplit"
	}
	return func(args []jinja.Value, kwargs map[string]jinja.Value) (jinja.Value, error) {
		s, err := receiver(name, args)
		if err != nil {
			return jinja.Undefined(), err
		}
		sep, maxsplit := jinja.None(), int64(-1)
		if len(args) > 1 {
			sep = args[1]
		}
		if len(args) > 2 {
			if !args[2].IsInt() {
				return jinja.Undefined(), fmt.Errorf("%s: maxsplit must be an integer", name)
			}
			maxsplit = args[2].AsInt()
		}
		if v, ok := kwargs["sep"]; ok {
			sep = v
		}
		if v, ok := kwargs["maxsplit"]; ok {
			if !v.IsInt() {
				return jinja.Undefined(), fmt.Errorf("%s: maxsplit must be an integer", name)
			}
			maxsplit = v.AsInt()
		}
		var parts []string
		switch {
		case sep.IsNone() || sep.IsUndefined():
			parts = splitWhitespace(s, maxsplit, fromRight)
		case !sep.IsString():
			return jinja.Undefined(), fmt.Errorf("%s: separator must be a string, not %s", name, kindName(sep))
		case sep.AsString() == "":
			return jinja.Undefined(), fmt.Errorf("%s: empty separator", name)
		default:
			n := -1
			if maxsplit >= 0 {
				n = int(min(maxsplit, int64(len(s)))) + 1
			}
			if fromRight {
				parts = rsplitN(s, sep.AsString(), n)
			} else {
				parts = strings.SplitN(s, sep.AsString(), n)
			}
		}
		items := make([]jinja.Value, len(parts))
		for i, p := range parts {
			items[i] = jinja.NewString(p)
		}
		return jinja.NewList(items), nil
	}
}

// rsplitN splits s around sep from the right into at most n parts (all
// when n < 0).
func rsplitN(s, sep string, n int) []string {
	var rev []string
	for n < 0 || len(rev) < n-1 {
		i := strings.LastIndex(s, sep)
		if i < 0 {
			break
		}
		rev = append(rev, s[i+len(sep):])
		s = s[:i]
	}
	parts := []string{s}
	for i := len(rev) - 1; i >= 0; i-- {
		parts = append(parts, rev[i])
	}
	return parts
}

// splitWhitespace is str.split() / str.rsplit() with no separator: runs of
// whitespace separate, empty strings are never produced.
func splitWhitespace(s string, maxsplit int64, fromRight bool) []string {
	if maxsplit < 0 {
		return strings.Fields(s)
	}
	var parts []string
	if !fromRight {
		for int64(len(parts)) < maxsplit {
			s = strings.TrimLeftFunc(s, unicode.IsSpace)
			i := strings.IndexFunc(s, unicode.IsSpace)
			if i < 0 {
				break
			}
			parts = append(parts, s[:i])
			s = s[i:]
		}
		if s = strings.TrimLeftFunc(s, unicode.IsSpace); s != "" {
			parts = append(parts, s)
		}
		return parts
	}
	for int64(len(parts)) < maxsplit {
		s = strings.TrimRightFunc(s, unicode.IsSpace)
		i := strings.LastIndexFunc(s, unicode.IsSpace)
		if i < 0 {
			break
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		parts = append(parts, s[i+size:])
		s = s[:i+size]
	}
	if s = strings.TrimRightFunc(s, unicode.IsSpace); s != "" {
		parts = append(parts, s)
	}
	for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
		parts[i], parts[j] = parts[j], parts[i]
	}
	return parts
}

// affixMethod implements str.startswith / str.endswith, whose argument may
// be a tuple (list) of candidates.
func affixMethod(name string, has func(s, affix string) bool) builtin {
	return func(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
		s, err := receiver(name, args)
		if err != nil {
			return jinja.Undefined(), err
		}
		if len(args) != 2 {
			return jinja.Undefined(), fmt.Errorf("%s: want one argument", name)
		}
		cands := []jinja.Value{args[1]}
		if args[1].IsList() {
			cands = args[1].AsList().Items
		}
		for _, c := range cands {
			if !c.IsString() {
				return jinja.Undefined(), fmt.Errorf("%s: argument must be str or a tuple of str, not %s", name, kindName(c))
			}
			if has(s, c.AsString()) {
				return jinja.NewBool(true), nil
			}
		}
		return jinja.NewBool(false), nil
	}
}

// capitalizeMethod is str.capitalize: first character upper case, the rest
// lower case.
func capitalizeMethod(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
	s, err := receiver("capitalize", args)
	if err != nil || s == "" {
		return jinja.NewString(s), err
	}
	r, size := utf8.DecodeRuneInString(s)
	return jinja.NewString(string(unicode.ToUpper(r)) + strings.ToLower(s[size:])), nil
}
