package grammar

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// jvalue is a decoded JSON value that keeps the order of object members
// (a schema's "properties" order is the order the grammar writes them in).
type jvalue struct {
	kind jkind
	b    bool
	num  string // a number's literal
	str  string
	arr  []*jvalue
	obj  []jmember
}

type jkind uint8

const (
	jnull jkind = iota
	jbool
	jnumber
	jstring
	jarray
	jobject
)

type jmember struct {
	key string
	val *jvalue
}

// maxJSONDepth bounds nesting, so that a hostile schema cannot exhaust the
// stack of the recursive decoder or compiler.
const maxJSONDepth = 256

// decodeJSON decodes exactly one JSON value from data.
func decodeJSON(data []byte) (*jvalue, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := decodeValue(dec, 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data after the JSON value")
	}
	return v, nil
}

func decodeValue(dec *json.Decoder, depth int) (*jvalue, error) {
	if depth > maxJSONDepth {
		return nil, fmt.Errorf("nested deeper than %d levels", maxJSONDepth)
	}
	tok, err := dec.Token()
	if err != nil {
		if err == io.EOF {
			return nil, io.ErrUnexpectedEOF
		}
		return nil, err
	}
	switch t := tok.(type) {
	case nil:
		return &jvalue{kind: jnull}, nil
	case bool:
		return &jvalue{kind: jbool, b: t}, nil
	case json.Number:
		return &jvalue{kind: jnumber, num: t.String()}, nil
	case string:
		return &jvalue{kind: jstring, str: t}, nil
	case json.Delim:
		switch t {
		case '[':
			v := &jvalue{kind: jarray, arr: []*jvalue{}}
			for dec.More() {
				e, err := decodeValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				v.arr = append(v.arr, e)
			}
			_, err := dec.Token()
			return v, err
		case '{':
			v := &jvalue{kind: jobject, obj: []jmember{}}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k := kt.(string)
				if v.get(k) != nil {
					return nil, fmt.Errorf("duplicate key %q", k)
				}
				e, err := decodeValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				v.obj = append(v.obj, jmember{k, e})
			}
			_, err := dec.Token()
			return v, err
		}
	}
	return nil, fmt.Errorf("unexpected %v", tok)
}

// get returns the member key of an object, or nil.
func (v *jvalue) get(key string) *jvalue {
	if v == nil || v.kind != jobject {
		return nil
	}
	for _, m := range v.obj {
		if m.key == key {
			return m.val
		}
	}
	return nil
}

// with returns a copy of object v with key set to val (nil removes it).
func (v *jvalue) with(key string, val *jvalue) *jvalue {
	out := &jvalue{kind: jobject, obj: make([]jmember, 0, len(v.obj)+1)}
	found := false
	for _, m := range v.obj {
		if m.key == key {
			found = true
			if val != nil {
				out.obj = append(out.obj, jmember{key, val})
			}
			continue
		}
		out.obj = append(out.obj, m)
	}
	if !found && val != nil {
		out.obj = append(out.obj, jmember{key, val})
	}
	return out
}

func jstr(s string) *jvalue { return &jvalue{kind: jstring, str: s} }

func jobj(members ...jmember) *jvalue {
	return &jvalue{kind: jobject, obj: append([]jmember{}, members...)}
}

func jarr(vals ...*jvalue) *jvalue { return &jvalue{kind: jarray, arr: append([]*jvalue{}, vals...)} }

// encode writes v as compact JSON (the text a constant must match).
func (v *jvalue) encode(sb *strings.Builder) {
	switch v.kind {
	case jnull:
		sb.WriteString("null")
	case jbool:
		if v.b {
			sb.WriteString("true")
		} else {
			sb.WriteString("false")
		}
	case jnumber:
		sb.WriteString(v.num)
	case jstring:
		sb.WriteString(jsonQuote(v.str))
	case jarray:
		sb.WriteByte('[')
		for i, e := range v.arr {
			if i > 0 {
				sb.WriteByte(',')
			}
			e.encode(sb)
		}
		sb.WriteByte(']')
	case jobject:
		sb.WriteByte('{')
		for i, m := range v.obj {
			if i > 0 {
				sb.WriteByte(',')
			}
			sb.WriteString(jsonQuote(m.key))
			sb.WriteByte(':')
			m.val.encode(sb)
		}
		sb.WriteByte('}')
	}
}

func (v *jvalue) String() string {
	var sb strings.Builder
	v.encode(&sb)
	return sb.String()
}

// jsonQuote returns s as a JSON string literal, non-ASCII kept as UTF-8.
func jsonQuote(s string) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return strings.TrimSuffix(buf.String(), "\n")
}

// typeName names v's JSON type as JSON Schema does ("integer" for numbers
// without a fraction or exponent).
func (v *jvalue) typeName() string {
	switch v.kind {
	case jnull:
		return "null"
	case jbool:
		return "boolean"
	case jnumber:
		if !strings.ContainsAny(v.num, ".eE") {
			return "integer"
		}
		return "number"
	case jstring:
		return "string"
	case jarray:
		return "array"
	}
	return "object"
}
