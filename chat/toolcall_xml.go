package chat

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// Markers of the XML tool-call form (Qwen3.5, Qwen3-Coder).
const (
	xmlFunction     = "<function="
	xmlFunctionEnd  = "</function>"
	xmlParameter    = "<parameter="
	xmlParameterEnd = "</parameter>"
)

// paramTypes maps function name -> parameter name -> JSON Schema type, from
// a request's tool definitions.
type paramTypes map[string]map[string]string

// newParamTypes reads the parameter types of tool definitions
// ({"type": "function", "function": {"name", "parameters": {...}}}).
// Definitions it cannot read contribute nothing.
func newParamTypes(tools []json.RawMessage) paramTypes {
	pt := paramTypes{}
	for _, raw := range tools {
		var def struct {
			Function struct {
				Name       string `json:"name"`
				Parameters struct {
					Properties map[string]struct {
						Type json.RawMessage `json:"type"`
					} `json:"properties"`
				} `json:"parameters"`
			} `json:"function"`
		}
		if json.Unmarshal(raw, &def) != nil || def.Function.Name == "" {
			continue
		}
		types := map[string]string{}
		for name, p := range def.Function.Parameters.Properties {
			types[name] = schemaType(p.Type)
		}
		pt[def.Function.Name] = types
	}
	return pt
}

// schemaType returns a JSON Schema "type": the string, or the first
// non-null entry of a list of types, or "" when absent.
func schemaType(raw json.RawMessage) string {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return one
	}
	var many []string
	if json.Unmarshal(raw, &many) == nil {
		for _, t := range many {
			if t != "null" {
				return t
			}
		}
	}
	return ""
}

// parseXMLCall parses the body of one <tool_call> block in the XML form
// the Qwen3.5 template teaches:
//
//	<function=NAME>
//	<parameter=KEY>
//	VALUE
//	</parameter>
//	...
//	</function>
//
// A missing </parameter> or </function> is tolerated, as vLLM's parser
// does. Each value loses one leading and one trailing newline and is typed
// by the tool's schema: string parameters stay strings; integer, number,
// boolean, object and array parameters become those JSON values when the
// text is one (booleans case-insensitively); "null" is null; anything else,
// parameters the schema does not describe included, is a string. The
// arguments keep the model's parameter order.
func parseXMLCall(body string, types paramTypes) (name, args string, err error) {
	body = strings.TrimSpace(body)
	rest, ok := strings.CutPrefix(body, xmlFunction)
	if !ok {
		return "", "", fmt.Errorf("want %s...>, got %.40q", xmlFunction, body)
	}
	name, rest, ok = strings.Cut(rest, ">")
	name = strings.TrimSpace(name)
	if !ok || name == "" || strings.ContainsAny(name, "<\n") {
		return "", "", fmt.Errorf("no function name")
	}
	if i := strings.Index(rest, xmlFunctionEnd); i >= 0 {
		if tail := strings.TrimSpace(rest[i+len(xmlFunctionEnd):]); tail != "" {
			return "", "", fmt.Errorf("text after %s: %.40q", xmlFunctionEnd, tail)
		}
		rest = rest[:i]
	}
	var buf bytes.Buffer
	buf.WriteByte('{')
	seen := map[string]bool{}
	for {
		i := strings.Index(rest, xmlParameter)
		if i < 0 {
			if strings.TrimSpace(rest) != "" {
				return "", "", fmt.Errorf("text outside a parameter: %.40q", strings.TrimSpace(rest))
			}
			break
		}
		if pre := strings.TrimSpace(rest[:i]); pre != "" {
			return "", "", fmt.Errorf("text outside a parameter: %.40q", pre)
		}
		rest = rest[i+len(xmlParameter):]
		var key string
		key, rest, ok = strings.Cut(rest, ">")
		key = strings.TrimSpace(key)
		if !ok || key == "" || strings.ContainsAny(key, "<\n") {
			return "", "", fmt.Errorf("parameter without a name")
		}
		if seen[key] {
			return "", "", fmt.Errorf("parameter %q given twice", key)
		}
		seen[key] = true
		// The value ends at </parameter>, or at the next parameter.
		end, next := len(rest), len(rest)
		if j := strings.Index(rest, xmlParameterEnd); j >= 0 {
			end, next = j, j+len(xmlParameterEnd)
		}
		if j := strings.Index(rest, xmlParameter); j >= 0 && j < end {
			end, next = j, j
		}
		value := rest[:end]
		rest = rest[next:]
		value = strings.TrimPrefix(value, "\n")
		value = strings.TrimSuffix(value, "\n")
		if buf.Len() > 1 {
			buf.WriteString(", ")
		}
		buf.WriteString(jsonString(key))
		buf.WriteString(": ")
		buf.WriteString(typedValue(value, types[name][key]))
	}
	buf.WriteByte('}')
	return name, buf.String(), nil
}

// typedValue returns the JSON text of a parameter value of schema type typ.
func typedValue(value, typ string) string {
	v := strings.TrimSpace(value)
	if v == "null" && typ != "string" {
		return "null"
	}
	switch typ {
	case "integer":
		if isJSONNumber(v) && !strings.ContainsAny(v, ".eE") {
			return v
		}
	case "number":
		if isJSONNumber(v) {
			return v
		}
	case "boolean":
		switch strings.ToLower(v) {
		case "true":
			return "true"
		case "false":
			return "false"
		}
	case "object", "array":
		open := byte('{')
		if typ == "array" {
			open = '['
		}
		if v != "" && v[0] == open && json.Valid([]byte(v)) {
			return v // as the model wrote it, key order kept
		}
	}
	return jsonString(value)
}

// jsonString returns s as a JSON string, without escaping <, > and & (tool
// arguments are not HTML).
func jsonString(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(s) // a string always encodes
	return strings.TrimSuffix(b.String(), "\n")
}

// isJSONNumber reports whether s is a JSON number.
func isJSONNumber(s string) bool {
	if s == "" || (s[0] != '-' && (s[0] < '0' || s[0] > '9')) {
		return false
	}
	var n json.Number
	return json.Unmarshal([]byte(s), &n) == nil
}
