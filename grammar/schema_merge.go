package grammar

import (
	"math/big"
	"slices"
	"strconv"
	"strings"
)

// allOf, and anyOf/oneOf/$ref/nullable beside other keywords, are compiled
// by flattening the schema into alternatives of plain schemas (none of
// those keywords at the top), merging the parts that must all hold.

// maxAlternatives bounds the alternatives a schema flattens into.
const maxAlternatives = 64

// maxMergeDepth bounds the $ref and allOf nesting flatten follows; a
// recursive $ref met while merging ends there with an error.
const maxMergeDepth = 32

// flatten returns plain schemas whose union is s.
func (c *schemaConv) flatten(s *jvalue, path string, depth int) []*jvalue {
	if depth > maxMergeDepth {
		fail(path, "$ref", "references nest too deeply to merge (a recursive $ref under allOf?)")
	}
	if s.kind == jbool {
		if s.b {
			return []*jvalue{jobj()}
		}
		return nil
	}
	if s.kind != jobject {
		fail(path, "", "a schema must be an object or a boolean")
	}
	checkKeywords(s, path)
	s = normalizeDraft4(s)
	base := s
	for _, k := range []string{"$ref", "allOf", "anyOf", "oneOf", "nullable"} {
		base = base.with(k, nil)
	}
	alts := []*jvalue{base}
	if ref := s.get("$ref"); ref != nil {
		if ref.kind != jstring {
			fail(path, "$ref", "want a string")
		}
		alts = c.product(alts, c.flatten(c.resolve(ref.str, path), strings.TrimPrefix(ref.str, "#"), depth+1), path)
	}
	if all := s.get("allOf"); all != nil {
		for i, b := range schemaList(all, path, "allOf") {
			alts = c.product(alts, c.flatten(b, path+"/allOf/"+strconv.Itoa(i), depth+1), path)
		}
	}
	for _, k := range []string{"anyOf", "oneOf"} {
		if any := s.get(k); any != nil {
			var union []*jvalue
			for i, b := range schemaList(any, path, k) {
				union = append(union, c.flatten(b, path+"/"+k+"/"+strconv.Itoa(i), depth+1)...)
			}
			alts = c.product(alts, union, path)
		}
	}
	if isTrue(s.get("nullable")) {
		alts = append(alts, jobj(jmember{"type", jstr("null")}))
	}
	if len(alts) > maxAlternatives {
		fail(path, "anyOf", "more than %d alternatives after merging", maxAlternatives)
	}
	return alts
}

func schemaList(v *jvalue, path, keyword string) []*jvalue {
	if v.kind != jarray || len(v.arr) == 0 {
		fail(path, keyword, "want a non-empty array of schemas")
	}
	return v.arr
}

// product merges each of as with each of bs, keeping the satisfiable.
func (c *schemaConv) product(as, bs []*jvalue, path string) []*jvalue {
	var out []*jvalue
	for _, a := range as {
		for _, b := range bs {
			if m, ok := merge(a, b, path); ok {
				out = append(out, m)
			}
			if len(out) > maxAlternatives {
				fail(path, "allOf", "more than %d alternatives after merging", maxAlternatives)
			}
		}
	}
	return out
}

// merge returns a plain schema for "a and b", or ok false when no value
// satisfies both.
func merge(a, b *jvalue, path string) (*jvalue, bool) {
	out := a
	for _, m := range b.obj {
		va := a.get(m.key)
		if va == nil {
			out = out.with(m.key, m.val)
			continue
		}
		vb := m.val
		var v *jvalue
		switch m.key {
		case "type":
			v = intersectTypes(va, vb)
			if v == nil {
				return nil, false
			}
		case "required":
			v = jarr(va.arr...)
			for _, e := range vb.arr {
				if !enumHas(v, e) {
					v.arr = append(v.arr, e)
				}
			}
		case "additionalProperties", "items", "additionalItems":
			v = allOf(va, vb)
		case "prefixItems":
			if va.kind != jarray || vb.kind != jarray || len(va.arr) != len(vb.arr) {
				fail(path, "prefixItems", "allOf of tuples of different lengths is not supported")
			}
			v = jarr()
			for i := range va.arr {
				v.arr = append(v.arr, allOf(va.arr[i], vb.arr[i]))
			}
		case "minLength", "minItems", "minimum", "exclusiveMinimum":
			v = numExtreme(va, vb, true)
		case "maxLength", "maxItems", "maximum", "exclusiveMaximum":
			v = numExtreme(va, vb, false)
		case "enum":
			v = jarr()
			for _, e := range va.arr {
				if enumHas(vb, e) {
					v.arr = append(v.arr, e)
				}
			}
			if len(v.arr) == 0 {
				return nil, false
			}
		case "const":
			if va.String() != vb.String() {
				return nil, false
			}
			v = va
		case "pattern", "format":
			if va.String() != vb.String() {
				fail(path, m.key, "allOf with two different values is not supported")
			}
			v = va
		default:
			v = va // annotations and uniqueItems: false
		}
		out = out.with(m.key, v)
	}
	if a.get("properties") != nil || b.get("properties") != nil {
		props, ok := mergeProperties(a, b, out)
		if !ok {
			return nil, false
		}
		out = out.with("properties", props)
	}
	return out, true
}

// mergeProperties merges the properties of a and b: a property declared
// by one side only must also satisfy the other side's
// additionalProperties (false drops it; a required one then makes the
// merge unsatisfiable).
func mergeProperties(a, b, merged *jvalue) (*jvalue, bool) {
	pa, pb := a.get("properties"), b.get("properties")
	var keys []string
	for _, p := range []*jvalue{pa, pb} {
		if p == nil {
			continue
		}
		for _, m := range p.obj {
			if !slices.Contains(keys, m.key) {
				keys = append(keys, m.key)
			}
		}
	}
	side := func(props, s *jvalue, k string) *jvalue {
		if v := props.get(k); v != nil {
			return v
		}
		return s.get("additionalProperties") // nil: no constraint
	}
	required := merged.get("required")
	out := jobj()
	for _, k := range keys {
		sa, sb := side(pa, a, k), side(pb, b, k)
		var v *jvalue
		switch {
		case sa == nil:
			v = sb
		case sb == nil:
			v = sa
		default:
			v = allOf(sa, sb)
		}
		if isFalse(sa) || isFalse(sb) {
			if required != nil && enumHas(required, jstr(k)) {
				return nil, false
			}
			v = &jvalue{kind: jbool, b: false}
		}
		out.obj = append(out.obj, jmember{k, v})
	}
	return out, true
}

func isFalse(v *jvalue) bool { return v != nil && v.kind == jbool && !v.b }

// allOf returns a schema for both a and b.
func allOf(a, b *jvalue) *jvalue {
	switch {
	case isFalse(a) || isFalse(b):
		return &jvalue{kind: jbool, b: false}
	case isTrue(a):
		return b
	case isTrue(b):
		return a
	}
	return jobj(jmember{"allOf", jarr(a, b)})
}

// intersectTypes intersects two "type" values (a name or a list).
func intersectTypes(a, b *jvalue) *jvalue {
	list := func(v *jvalue) []string {
		if v.kind == jstring {
			return []string{v.str}
		}
		var out []string
		for _, e := range v.arr {
			out = append(out, e.str)
		}
		return out
	}
	var out []*jvalue
	for _, x := range list(a) {
		for _, y := range list(b) {
			var t string
			switch {
			case x == y:
				t = x
			case x == "integer" && y == "number", x == "number" && y == "integer":
				t = "integer"
			default:
				continue
			}
			if !slices.ContainsFunc(out, func(v *jvalue) bool { return v.str == t }) {
				out = append(out, jstr(t))
			}
		}
	}
	switch len(out) {
	case 0:
		return nil
	case 1:
		return out[0]
	}
	return jarr(out...)
}

// numExtreme returns the larger (or smaller) of two number values.
func numExtreme(a, b *jvalue, larger bool) *jvalue {
	ra, oka := new(big.Rat).SetString(a.num)
	rb, okb := new(big.Rat).SetString(b.num)
	if !oka || a.kind != jnumber {
		return b
	}
	if !okb || b.kind != jnumber {
		return a
	}
	if (ra.Cmp(rb) < 0) == larger {
		return b
	}
	return a
}
