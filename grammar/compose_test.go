package grammar

import (
	"errors"
	"strings"
	"sync"
	"testing"
)

// TestSchemasToGBNF: schemas compiled into named rules of one grammar,
// each with its own $defs, under a root the caller writes; the combined
// grammar accepts exactly the wrapped instances.
func TestSchemasToGBNF(t *testing.T) {
	a := `{"type":"object","properties":{"x":{"$ref":"#/$defs/d"}},"required":["x"],"additionalProperties":false,"$defs":{"d":{"enum":[1,2]}}}`
	b := `{"type":"object","properties":{"x":{"$ref":"#/$defs/d"}},"required":["x"],"additionalProperties":false,"$defs":{"d":{"type":"boolean"}}}`
	root := Literal("A<\"") + " tool-a " + Literal("\n>") + " | " + Literal("B:") + " tool-b"
	src, err := SchemasToGBNF(root, NamedSchema{"tool-a", []byte(a)}, NamedSchema{"tool-b", []byte(b)})
	if err != nil {
		t.Fatal(err)
	}
	g := mustParse(t, src)
	v := byteVocab()
	for _, c := range []struct {
		text string
		ok   bool
	}{
		{"A<\"{\"x\": 1}\n>", true}, {"A<\"{\"x\": 2}\n>", true}, {"B:{\"x\": true}", true},
		{"A<\"{\"x\": true}\n>", false}, {"B:{\"x\": 1}", false}, {"A<\"{\"x\": 1}", false}, {"{\"x\": 1}", false},
	} {
		m, err := NewMatcher(g, v)
		if err != nil {
			t.Fatal(err)
		}
		if got := feed(m, c.text) == len(c.text) && m.CanEnd(); got != c.ok {
			t.Errorf("%q: accepted %v, want %v\n%s", c.text, got, c.ok, src)
		}
	}
	_, err = SchemasToGBNF("tool-a", NamedSchema{"tool-a", []byte(a)}, NamedSchema{"tool-b", []byte(`{"not":{}}`)})
	var se *SchemaError
	if !errors.As(err, &se) || se.Rule != "tool-b" || se.Keyword != "not" {
		t.Errorf("bad second schema: %v, want a SchemaError of rule tool-b naming not", err)
	}
	for _, bad := range []string{"root", "space", "string", "a b", "", "x_y"} {
		if _, err := SchemasToGBNF("x", NamedSchema{bad, []byte(a)}); err == nil {
			t.Errorf("rule name %q accepted", bad)
		}
	}
}

// TestCache: one compilation per key, even when asked concurrently;
// errors are kept; the least recently used grammar goes first.
func TestCache(t *testing.T) {
	c := NewCache(2)
	var mu sync.Mutex
	compiles := map[string]int{}
	compile := func(src string) (*Grammar, error) {
		mu.Lock()
		compiles[src]++
		mu.Unlock()
		return Parse(src)
	}
	const x, y, z = `root ::= "x"`, `root ::= "y"`, `root ::= "z"`
	var wg sync.WaitGroup
	gs := make([]*Grammar, 8)
	for i := range gs {
		wg.Go(func() {
			g, err := c.Get(kindTest, x, compile)
			if err != nil {
				t.Error(err)
			}
			gs[i] = g
		})
	}
	wg.Wait()
	for _, g := range gs {
		if g != gs[0] {
			t.Fatalf("different grammars for one key")
		}
	}
	if _, err := c.Get(kindTest, "root ::= (", compile); err == nil {
		t.Errorf("bad grammar compiled")
	}
	c.Get(kindTest, "root ::= (", compile)
	c.Get(kindTest, y, compile) // evicts x: "root ::= (" was used after it
	c.Get(kindTest, z, compile) // evicts "root ::= ("
	c.Get(kindTest, y, compile)
	c.Get(kindTest, x, compile)
	want := map[string]int{x: 2, "root ::= (": 1, y: 1, z: 1}
	for k, n := range want {
		if compiles[k] != n {
			t.Errorf("%q compiled %d times, want %d", k, compiles[k], n)
		}
	}
	if c.Len() != 2 {
		t.Errorf("Len %d, want 2", c.Len())
	}
	if g, _ := c.Get("other", x, compile); g == nil || strings.TrimSpace(g.String()) != x || compiles[x] != 3 {
		t.Errorf("another kind shares a key")
	}
}

const kindTest = "gbnf"
