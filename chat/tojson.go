package chat

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/ardanlabs/jinja"
)

// jsonOptions are the arguments of Hugging Face's tojson filter, which
// calls Python's json.dumps(x, ensure_ascii=False, indent=None,
// separators=None, sort_keys=False).
type jsonOptions struct {
	ensureASCII bool
	indent      string // "" with hasIndent false means no newlines
	hasIndent   bool
	itemSep     string
	keySep      string
	sortKeys    bool
}

// tojsonFilter implements the tojson filter as transformers defines it for
// chat templates. The jinja library's own filter loses key order and escapes
// HTML when indent is given and prints floats the Go way, so templates are
// rewritten to call this one instead (see rewriteFilters).
func tojsonFilter(args []jinja.Value, kwargs map[string]jinja.Value) (jinja.Value, error) {
	if len(args) == 0 {
		return jinja.Undefined(), errors.New("tojson: no value")
	}
	// Positional parameters after the value, in Python's order.
	names := []string{"ensure_ascii", "indent", "separators", "sort_keys"}
	params := map[string]jinja.Value{}
	for i, a := range args[1:] {
		if i >= len(names) {
			return jinja.Undefined(), fmt.Errorf("tojson: too many arguments (%d)", len(args)-1)
		}
		params[names[i]] = a
	}
	for k, v := range kwargs {
		found := false
		for _, n := range names {
			found = found || n == k
		}
		if !found {
			return jinja.Undefined(), fmt.Errorf("tojson: unexpected keyword argument %q", k)
		}
		if _, dup := params[k]; dup {
			return jinja.Undefined(), fmt.Errorf("tojson: argument %q given twice", k)
		}
		params[k] = v
	}
	opt := jsonOptions{itemSep: ", ", keySep: ": "}
	if v, ok := params["ensure_ascii"]; ok {
		opt.ensureASCII = v.IsTruthy()
	}
	if v, ok := params["sort_keys"]; ok {
		opt.sortKeys = v.IsTruthy()
	}
	if v, ok := params["indent"]; ok && !v.IsNone() && !v.IsUndefined() {
		opt.hasIndent = true
		opt.itemSep = ","
		switch {
		case v.IsInt():
			opt.indent = strings.Repeat(" ", int(max(0, min(v.AsInt(), 1<<10))))
		case v.IsString():
			opt.indent = v.AsString()
		default:
			return jinja.Undefined(), fmt.Errorf("tojson: indent must be an integer or a string, not %s", kindName(v))
		}
	}
	if v, ok := params["separators"]; ok && !v.IsNone() && !v.IsUndefined() {
		if !v.IsList() || v.AsList().Len() != 2 || !v.AsList().Items[0].IsString() || !v.AsList().Items[1].IsString() {
			return jinja.Undefined(), errors.New("tojson: separators must be a pair of strings")
		}
		opt.itemSep = v.AsList().Items[0].AsString()
		opt.keySep = v.AsList().Items[1].AsString()
	}
	var sb strings.Builder
	if err := writeJSON(&sb, args[0], &opt, 0); err != nil {
		return jinja.Undefined(), fmt.Errorf("tojson: %w", err)
	}
	return jinja.NewString(sb.String()), nil
}

// pyJSON renders v as Python's json.dumps(v, ensure_ascii=False) does.
func pyJSON(v jinja.Value) (string, error) {
	var sb strings.Builder
	err := writeJSON(&sb, v, &jsonOptions{itemSep: ", ", keySep: ": "}, 0)
	return sb.String(), err
}

func writeJSON(sb *strings.Builder, v jinja.Value, opt *jsonOptions, depth int) error {
	if depth > 1000 {
		return errors.New("nesting too deep")
	}
	switch {
	case v.IsNone():
		sb.WriteString("null")
	case v.IsBool():
		if v.AsBool() {
			sb.WriteString("true")
		} else {
			sb.WriteString("false")
		}
	case v.IsInt():
		sb.WriteString(strconv.FormatInt(v.AsInt(), 10))
	case v.IsFloat():
		sb.WriteString(pyFloatRepr(v.AsFloat(), true))
	case v.IsString():
		writeJSONString(sb, v.AsString(), opt.ensureASCII)
	case v.IsList():
		items := v.AsList().Items
		if len(items) == 0 {
			sb.WriteString("[]")
			return nil
		}
		sb.WriteByte('[')
		for i, item := range items {
			if i > 0 {
				sb.WriteString(opt.itemSep)
			}
			writeNewline(sb, opt, depth+1)
			if err := writeJSON(sb, item, opt, depth+1); err != nil {
				return err
			}
		}
		writeNewline(sb, opt, depth)
		sb.WriteByte(']')
	case v.IsDict():
		d := v.AsDict()
		if d.Len() == 0 {
			sb.WriteString("{}")
			return nil
		}
		keys := d.Keys
		if opt.sortKeys {
			keys = d.OrderedKeys()
			sort.Strings(keys)
		}
		sb.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				sb.WriteString(opt.itemSep)
			}
			writeNewline(sb, opt, depth+1)
			writeJSONString(sb, k, opt.ensureASCII)
			sb.WriteString(opt.keySep)
			val, _ := d.Get(k)
			if err := writeJSON(sb, val, opt, depth+1); err != nil {
				return err
			}
		}
		writeNewline(sb, opt, depth)
		sb.WriteByte('}')
	default:
		return fmt.Errorf("object of type %s is not JSON serializable", kindName(v))
	}
	return nil
}

func writeNewline(sb *strings.Builder, opt *jsonOptions, depth int) {
	if !opt.hasIndent {
		return
	}
	sb.WriteByte('\n')
	for range depth {
		sb.WriteString(opt.indent)
	}
}

// writeJSONString quotes s as Python's json module does: only ", \ and
// control characters are escaped, plus everything outside printable ASCII
// when ensureASCII is set (as \uXXXX, with surrogate pairs).
func writeJSONString(sb *strings.Builder, s string, ensureASCII bool) {
	const hex = "0123456789abcdef"
	u4 := func(r rune) {
		sb.WriteString(`\u`)
		sb.WriteByte(hex[r>>12&0xf])
		sb.WriteByte(hex[r>>8&0xf])
		sb.WriteByte(hex[r>>4&0xf])
		sb.WriteByte(hex[r&0xf])
	}
	sb.WriteByte('"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
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
			case '\b':
				sb.WriteString(`\b`)
			case '\f':
				sb.WriteString(`\f`)
			default:
				if c < 0x20 || (ensureASCII && c == 0x7f) {
					u4(rune(c))
				} else {
					sb.WriteByte(c)
				}
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if ensureASCII {
			if r >= 0x10000 {
				r -= 0x10000
				u4(0xd800 + r>>10)
				u4(0xdc00 + r&0x3ff)
			} else {
				u4(r)
			}
		} else {
			sb.WriteString(s[i : i+size])
		}
		i += size
	}
	sb.WriteByte('"')
}

// pyFloatRepr formats f as Python's repr(float) does: the shortest digits
// that round-trip, fixed notation for decimal exponents in [-4, 16), always
// with a fractional part ("1.0"), otherwise "1e+16" / "1.5e-05". With json
// set, non-finite values are NaN/Infinity/-Infinity as json.dumps writes
// them; otherwise nan/inf/-inf as str() does.
func pyFloatRepr(f float64, json bool) string {
	switch {
	case math.IsNaN(f):
		if json {
			return "NaN"
		}
		return "nan"
	case math.IsInf(f, 1):
		if json {
			return "Infinity"
		}
		return "inf"
	case math.IsInf(f, -1):
		if json {
			return "-Infinity"
		}
		return "-inf"
	}
	e := strconv.FormatFloat(f, 'e', -1, 64) // -d.ddde±XX
	mant, expStr, _ := strings.Cut(e, "e")
	exp, _ := strconv.Atoi(expStr)
	neg := strings.HasPrefix(mant, "-")
	mant = strings.TrimPrefix(mant, "-")
	digits := strings.Replace(mant, ".", "", 1)
	var out string
	if exp < -4 || exp >= 16 {
		m := digits[:1]
		if len(digits) > 1 {
			m += "." + digits[1:]
		}
		sign := "+"
		if exp < 0 {
			sign = "-"
			exp = -exp
		}
		out = fmt.Sprintf("%se%s%02d", m, sign, exp)
	} else {
		point := exp + 1 // digits before the decimal point
		switch {
		case point <= 0:
			out = "0." + strings.Repeat("0", -point) + digits
		case point >= len(digits):
			out = digits + strings.Repeat("0", point-len(digits)) + ".0"
		default:
			out = digits[:point] + "." + digits[point:]
		}
	}
	if neg {
		out = "-" + out
	}
	return out
}

// kindName names v's type the way Python would.
func kindName(v jinja.Value) string {
	switch {
	case v.IsUndefined():
		return "Undefined"
	case v.IsNone():
		return "NoneType"
	case v.IsBool():
		return "bool"
	case v.IsInt():
		return "int"
	case v.IsFloat():
		return "float"
	case v.IsString():
		return "str"
	case v.IsList():
		return "list"
	case v.IsDict():
		return "dict"
	}
	return "function"
}
