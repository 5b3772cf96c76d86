package grammar

import (
	"errors"
	"strings"
	"testing"
)

func TestSchemaErrors(t *testing.T) {
	cases := []struct {
		schema, keyword, path, msg string
	}{
		{`{"not":{"type":"string"}}`, "not", "", "not supported"},
		{`{"type":"object","properties":{"a":{"if":{},"then":{}}}}`, "if", "/properties/a", "not supported"},
		{`{"type":"array","uniqueItems":true}`, "uniqueItems", "", "only false"},
		{`{"type":"object","patternProperties":{"^x":{}}}`, "patternProperties", "", ""},
		{`{"type":"object","minProperties":1}`, "minProperties", "", ""},
		{`{"type":"array","contains":{"type":"integer"}}`, "contains", "", ""},
		{`{"type":"number","multipleOf":3}`, "multipleOf", "", ""},
		{`{"type":"object","dependentRequired":{"a":["b"]}}`, "dependentRequired", "", ""},
		{`{"type":"object","propertyNames":{"maxLength":3}}`, "propertyNames", "", ""},
		{`{"$ref":"https://example.com/s.json"}`, "$ref", "", "only local references"},
		{`{"$ref":"#/$defs/missing"}`, "$ref", "", "does not resolve"},
		{`{"$ref":"#anchor"}`, "$ref", "", "anchors are not supported"},
		{`{"type":"strng"}`, "type", "", "unknown type"},
		{`{"type":"string","pattern":"(?=x)"}`, "pattern", "", "lookaround"},
		{`{"type":"string","pattern":"(a)\\1"}`, "pattern", "", "backreferences"},
		{`{"type":"string","pattern":"\\bx"}`, "pattern", "", "word boundary"},
		{`{"type":"string","pattern":"a^b"}`, "pattern", "", "only at the start"},
		{`{"type":"string","pattern":"x","maxLength":3}`, "pattern", "", "together with"},
		{`{"type":"string","minLength":5,"maxLength":2}`, "maxLength", "", "below minLength"},
		{`{"type":"string","minLength":"2"}`, "minLength", "", "non-negative integer"},
		{`{"type":"integer","minimum":5,"maximum":4}`, "minimum", "", "no integer"},
		{`{"type":"number","exclusiveMinimum":1,"exclusiveMaximum":1}`, "minimum", "", "no number"},
		{`{"type":"integer","minimum":1e30}`, "minimum", "", "out of range"},
		{`{"enum":[1,2],"type":"string"}`, "enum", "", "no value of type"},
		{`{"const":"x","type":"integer"}`, "const", "", "not of type"},
		{`false`, "", "", "matches nothing"},
		{`{"allOf":[{"type":"string"},{"type":"integer"}]}`, "", "", "no value satisfies"},
		{`{"allOf":[{"pattern":"a"},{"pattern":"b"}]}`, "pattern", "", "two different"},
		{`{"type":"object","properties":{"a":false},"required":["a"]}`, "", "/properties/a", "required but its schema is false"},
		{`{"type":"object","required":["a"],"additionalProperties":false}`, "required", "", "additionalProperties is false"},
		{`{"type":"array","items":false,"minItems":1}`, "minItems", "", "needs more items"},
		{`{"$defs":{"a":{"allOf":[{"$ref":"#/$defs/a"}]}},"$ref":"#/$defs/a"}`, "$ref", "/$defs/a/allOf/0", "nest too deeply"},
		{`{"anyOf":[]}`, "anyOf", "", "non-empty array"},
		{`[1]`, "", "", "must be an object or a boolean"},
		{`{"type":"string"`, "", "", "not valid JSON"},
		{`{"a":1,"a":2}`, "", "", "duplicate key"},
	}
	for _, c := range cases {
		_, err := FromJSONSchema([]byte(c.schema))
		var se *SchemaError
		if !errors.As(err, &se) {
			t.Errorf("%s: err = %v, want a *SchemaError", c.schema, err)
			continue
		}
		if se.Keyword != c.keyword || se.Path != c.path || !strings.Contains(se.Msg, c.msg) {
			t.Errorf("%s: got keyword %q path %q msg %q, want %q %q containing %q", c.schema, se.Keyword, se.Path, se.Msg, c.keyword, c.path, c.msg)
		}
	}
}

func TestSchemaIgnoresAnnotations(t *testing.T) {
	plain, err := SchemaToGBNF([]byte(`{"type":"object","properties":{"a":{"type":"string"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	annotated, err := SchemaToGBNF([]byte(`{"$schema":"https://json-schema.org/draft/2020-12/schema","title":"T","description":"d",
		"type":"object","x-vendor":1,"unevaluatedProperties":false,"properties":{"a":{"type":"string","format":"uri","examples":["x"],"default":"y"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if plain != annotated {
		t.Errorf("annotations changed the grammar:\n%s\nvs\n%s", plain, annotated)
	}
}

// TestSchemaGBNF pins the shape of a few outputs (the format a user reads
// from "qilin grammar check").
func TestSchemaGBNF(t *testing.T) {
	got, err := SchemaToGBNF([]byte(`{"type":"object","properties":{"n":{"type":"integer","minimum":1,"maximum":12},"s":{"enum":["a","b"]}},"required":["n"]}`))
	if err != nil {
		t.Fatal(err)
	}
	want := `root ::= "{" space n-kv ( "," space ( s-kv ) )? "}" space
n ::= ([1-9] | "1" [0-2]) space
n-kv ::= "\"n\"" space ":" space n
s ::= ("\"a\"" | "\"b\"") space
s-kv ::= "\"s\"" space ":" space s
space ::= | " " | "\n"{1,2} [ \t]{0,20}
`
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}
