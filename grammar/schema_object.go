package grammar

import (
	"slices"
	"strconv"
	"strings"
)

// pointerEscape escapes a key for a JSON pointer.
func pointerEscape(k string) string {
	return strings.ReplaceAll(strings.ReplaceAll(k, "~", "~0"), "/", "~1")
}

// object returns the body of an object rule, as llama.cpp builds it:
// required properties first, in declaration order, then the optional ones
// in order, each at most once, then additional properties if allowed.
func (c *schemaConv) object(s *jvalue, name, path string) string {
	props := s.get("properties")
	if props != nil && props.kind != jobject {
		fail(path, "properties", "want an object")
	}
	ap := s.get("additionalProperties")
	if ap != nil && ap.kind != jbool && ap.kind != jobject {
		fail(path, "additionalProperties", "want a schema")
	}
	required := map[string]bool{}
	var reqOrder []string
	if r := s.get("required"); r != nil {
		if r.kind != jarray {
			fail(path, "required", "want an array of names")
		}
		for _, e := range r.arr {
			if e.kind != jstring {
				fail(path, "required", "want an array of names")
			}
			if !required[e.str] {
				required[e.str] = true
				reqOrder = append(reqOrder, e.str)
			}
		}
	}
	if props == nil && len(required) == 0 && (ap == nil || isTrue(ap)) {
		return c.primitive("object")
	}
	// Declared properties, then required names declared nowhere (their
	// values follow additionalProperties).
	var members []jmember
	if props != nil {
		members = slices.Clone(props.obj)
	}
	for _, k := range reqOrder {
		if props.get(k) == nil {
			switch {
			case ap == nil || isTrue(ap):
				members = append(members, jmember{k, jobj()})
			case ap.kind == jbool:
				fail(path, "required", "property %q is required but additionalProperties is false", k)
			default:
				members = append(members, jmember{k, ap})
			}
		}
	}
	kv := map[string]string{}
	var req, opt []string
	for _, m := range members {
		if m.val.kind == jbool && !m.val.b {
			if required[m.key] {
				fail(path+"/properties/"+pointerEscape(m.key), "", "property %q is required but its schema is false", m.key)
			}
			continue
		}
		value := c.visit(m.val, sub(name, m.key), path+"/properties/"+pointerEscape(m.key))
		kv[m.key] = c.addRule(sub(name, m.key+"-kv"), gbnfLiteral(jsonQuote(m.key))+` space ":" space `+value)
		if required[m.key] {
			req = append(req, m.key)
		} else {
			opt = append(opt, m.key)
		}
	}
	if ap != nil && (isTrue(ap) || ap.kind == jobject) {
		extra := sub(name, "additional")
		value := c.primitive("value")
		if ap.kind == jobject {
			value = c.visit(ap, extra+"-value", path+"/additionalProperties")
		}
		key := c.primitive("string")
		if len(members) > 0 {
			var names []string
			for _, m := range members {
				names = append(names, m.key)
			}
			key = c.addRule(extra+"-k", c.notStrings(names))
		}
		kv["*"] = c.addRule(extra+"-kv", key+` ":" space `+value)
		opt = append(opt, "*")
	}
	var sb strings.Builder
	sb.WriteString(`"{" space `)
	for i, k := range req {
		if i > 0 {
			sb.WriteString(` "," space `)
		}
		sb.WriteString(kv[k])
	}
	if len(opt) > 0 {
		sb.WriteString(" (")
		if len(req) > 0 {
			sb.WriteString(` "," space ( `)
		}
		for i := range opt {
			if i > 0 {
				sb.WriteString(" | ")
			}
			sb.WriteString(c.optionalProps(opt[i:], false, kv, name))
		}
		if len(req) > 0 {
			sb.WriteString(" )")
		}
		sb.WriteString(" )?")
	}
	sb.WriteString(` "}" space`)
	return sb.String()
}

// optionalProps writes the optional properties ks in order, each at most
// once; "*" stands for any number of additional properties.
func (c *schemaConv) optionalProps(ks []string, firstOptional bool, kv map[string]string, name string) string {
	k := ks[0]
	comma := `( "," space ` + kv[k] + ` )`
	var res string
	switch {
	case firstOptional && k == "*":
		res = comma + "*"
	case firstOptional:
		res = comma + "?"
	case k == "*":
		res = kv[k] + " " + comma + "*"
	default:
		res = kv[k]
	}
	if len(ks) > 1 {
		res += " " + c.addRule(sub(name, k+"-rest"), c.optionalProps(ks[1:], true, kv, name))
	}
	return res
}

// notStrings returns the body of a rule for a JSON string that is none of
// names. Its characters are unescaped (raw) ones, so that the text written
// is the key itself and cannot spell a declared name through escapes.
func (c *schemaConv) notStrings(names []string) string {
	type trieNode struct {
		children map[rune]*trieNode
		end      bool
	}
	root := &trieNode{children: map[rune]*trieNode{}}
	for _, n := range names {
		t := root
		for _, r := range n {
			if t.children[r] == nil {
				t.children[r] = &trieNode{children: map[rune]*trieNode{}}
			}
			t = t.children[r]
		}
		t.end = true
	}
	kchar := c.addRule("key-char", `[^"\\\x7F\x00-\x1F]`)
	var visit func(t *trieNode) string
	visit = func(t *trieNode) string {
		keys := make([]rune, 0, len(t.children))
		for r := range t.children {
			keys = append(keys, r)
		}
		slices.Sort(keys)
		var alts []string
		excluded := []cpRange{{'"', '"'}, {'\\', '\\'}, {0, 0x1F}, {0x7F, 0x7F}}
		for _, r := range keys {
			excluded = append(excluded, cpRange{r, r})
			ch := t.children[r]
			lit := gbnfLiteral(string(r))
			if r < 0x20 || r == '"' || r == '\\' || r == 0x7F {
				continue // never written raw, so never matches
			}
			alts = append(alts, lit+" "+visit(ch))
		}
		rest := complement(normalize(excluded))
		if len(rest) > 0 {
			alts = append(alts, gbnfClass(rest)+" "+kchar+"*")
		}
		body := "(" + strings.Join(alts, " | ") + ")"
		if !t.end {
			body += "?"
		}
		return body
	}
	return `"\"" ` + visit(root) + ` "\"" space`
}

// array returns the body of an array rule: a tuple of prefixItems (all
// written), then items (or additionalItems) within minItems..maxItems.
func (c *schemaConv) array(s *jvalue, name, path string) string {
	var prefix []*jvalue
	rest := s.get("items")
	restKey := "items"
	if p := s.get("prefixItems"); p != nil {
		if p.kind != jarray {
			fail(path, "prefixItems", "want an array of schemas")
		}
		prefix = p.arr
	} else if rest != nil && rest.kind == jarray {
		prefix, rest, restKey = rest.arr, s.get("additionalItems"), "additionalItems"
	}
	if rest != nil && rest.kind != jbool && rest.kind != jobject {
		fail(path, restKey, "want a schema")
	}
	minItems := intKeyword(s, "minItems", path, 0)
	maxItems := intKeyword(s, "maxItems", path, -1)
	if maxItems >= 0 && maxItems < minItems {
		fail(path, "maxItems", "below minItems")
	}
	if maxItems >= 0 && maxItems < len(prefix) {
		prefix = prefix[:maxItems]
	}
	n := len(prefix)
	restMin := max0(minItems - n)
	restMax := -1
	if maxItems >= 0 {
		restMax = maxItems - n
	}
	if restMin > maxRepetition {
		fail(path, "minItems", "above %d is not supported", maxRepetition)
	}
	if restMax > maxRepetition {
		restMax = maxRepetition // a tighter maximum: still only valid arrays
	}
	var item string
	switch {
	case rest == nil && restMin == 0 && n > 0:
		// A tuple: write no items past it.
	case rest != nil && rest.kind == jbool && !rest.b:
		if restMin > 0 {
			fail(path, "minItems", "needs more items than %s allows", restKey)
		}
	case rest == nil || isTrue(rest):
		item = c.primitive("value")
	default:
		item = c.visit(rest, sub(name, "item"), path+"/"+restKey)
	}
	var sb strings.Builder
	sb.WriteString(`"[" space `)
	for i, p := range prefix {
		if i > 0 {
			sb.WriteString(` "," space `)
		}
		sb.WriteString(c.visit(p, sub(name, "tuple-"+strconv.Itoa(i)), path+"/prefixItems/"+strconv.Itoa(i)))
	}
	if item != "" && restMax != 0 {
		if n == 0 {
			sb.WriteString(repetition(item, restMin, restMax, `"," space`))
		} else {
			sb.WriteString(" " + repetition(`("," space `+item+`)`, restMin, restMax, ""))
		}
	}
	sb.WriteString(` "]" space`)
	return sb.String()
}
