package grammar

import (
	"encoding/json"
	"errors"
	"os"
	"testing"
)

// FuzzParse: the GBNF parser never panics; what it accepts runs in a
// matcher, whose masks never empty while the grammar can go on, and whose
// every masked byte is accepted.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`root ::= "a" | "b"`, `root ::= [a-z]+ ("," [0-9]{1,3})*`, `root ::= x x ::= "(" x? ")"`,
		`root ::= [^"\\] .`, `root ::= <[5]> !<[6]>`, "root ::= \"\\u00e9\" # c\n | \"x\"{2,}",
		`root ::= (("a")?)*`, `root ::= "\x00"`, `root ::= r r ::= r "a"`,
	} {
		f.Add(s, []byte("ab(1,2)"))
	}
	v := byteVocab()
	f.Fuzz(func(t *testing.T, src string, input []byte) {
		g, err := Parse(src)
		if err != nil {
			return
		}
		m, err := NewMatcher(g, v)
		if err != nil {
			return // a <token> not in the vocabulary, or too ambiguous
		}
		mask := make([]uint64, v.MaskWords())
		for _, b := range input {
			if m.Done() {
				return
			}
			m.Mask(mask)
			if Count(mask) == 0 {
				t.Fatalf("empty mask while not done: %q", src)
			}
			id := int(b)
			if mask[id>>6]&(1<<(id&63)) == 0 {
				// Take the first allowed byte instead (or stop at EOG).
				id = setBits(mask, v.Size())[0]
			}
			if id == 256 {
				return
			}
			if err := m.Accept(id); err != nil && !errors.Is(err, ErrAmbiguous) {
				t.Fatalf("masked byte %d refused: %v", id, err)
			}
		}
	})
}

// FuzzSchema: the JSON Schema compiler never panics, and refuses a schema
// only with a *SchemaError.
func FuzzSchema(f *testing.F) {
	data, err := os.ReadFile("testdata/schemas.json")
	if err != nil {
		f.Fatal(err)
	}
	var cases []schemaCase
	if err := json.Unmarshal(data, &cases); err != nil {
		f.Fatal(err)
	}
	for _, c := range cases {
		f.Add([]byte(c.Schema))
	}
	f.Fuzz(func(t *testing.T, schema []byte) {
		if _, err := FromJSONSchema(schema); err != nil {
			var se *SchemaError
			if !errors.As(err, &se) {
				t.Fatalf("error is not a *SchemaError: %v", err)
			}
		}
	})
}
