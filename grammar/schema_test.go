package grammar

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// schemaCase is one entry of testdata/schemas.json: a schema, instances
// the grammar must accept, and instances it must not write (invalid ones,
// and valid ones outside the subset it writes, such as undeclared
// properties).
type schemaCase struct {
	Name     string          `json:"name"`
	Schema   json.RawMessage `json:"schema"`
	Valid    []string        `json:"valid"`
	Rejected []string        `json:"invalid"`
}

func loadSchemaCases(t testing.TB) []schemaCase {
	t.Helper()
	data, err := os.ReadFile("testdata/schemas.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []schemaCase
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	return cases
}

// validator compiles schema with an independent JSON Schema implementation
// (santhosh-tekuri/jsonschema, test-only), formats asserted. OpenAPI's
// "nullable", which it does not know, is rewritten as a type union first.
func validator(t testing.TB, schema []byte) *jsonschema.Schema {
	t.Helper()
	var doc any
	if err := json.Unmarshal(schema, &doc); err != nil {
		t.Fatal(err)
	}
	doc = rewriteNullable(doc)
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource("schema.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("schema.json")
	if err != nil {
		t.Fatalf("validator: %v", err)
	}
	return s
}

func rewriteNullable(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			out[k] = rewriteNullable(e)
		}
		if out["nullable"] == true {
			delete(out, "nullable")
			return map[string]any{"anyOf": []any{out, map[string]any{"type": "null"}}}
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = rewriteNullable(e)
		}
		return out
	}
	return v
}

// checkInstance fails t unless text is one JSON value valid against s.
func checkInstance(t testing.TB, s *jsonschema.Schema, text []byte, what string) {
	t.Helper()
	if !json.Valid(text) {
		t.Fatalf("%s: not JSON: %q", what, text)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(text))
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if err := s.Validate(inst); err != nil {
		t.Fatalf("%s: %q does not validate: %v", what, text, err)
	}
}

// TestSchemaInstances checks the grammars against hand-written instances:
// valid ones are accepted to completion (and the validator agrees they
// are valid), rejected ones are refused.
func TestSchemaInstances(t *testing.T) {
	v := byteVocab()
	for _, c := range loadSchemaCases(t) {
		t.Run(c.Name, func(t *testing.T) {
			g, err := FromJSONSchema(c.Schema)
			if err != nil {
				t.Fatal(err)
			}
			s := validator(t, c.Schema)
			for _, in := range c.Valid {
				checkInstance(t, s, []byte(in), "valid instance")
				m, _ := NewMatcher(g, v)
				if n := feed(m, in); n < len(in) || !m.CanEnd() {
					t.Errorf("valid %q refused after %q (CanEnd %v)\n%s", in, in[:n], m.CanEnd(), g)
				}
			}
			for _, in := range c.Rejected {
				m, _ := NewMatcher(g, v)
				if n := feed(m, in); n == len(in) && m.CanEnd() {
					t.Errorf("%q accepted, want it refused\n%s", in, g)
				}
			}
		})
	}
}

// completion returns the shortest byte string that completes the matcher's
// text, by breadth-first search over its states.
func completion(m *Matcher) ([]byte, error) {
	if m.CanEnd() {
		return nil, nil
	}
	type node struct {
		configs []int32
		path    []byte
	}
	seen := map[string]bool{}
	queue := []node{{configs: m.configs}}
	for len(queue) > 0 && len(seen) < 200_000 {
		cur := queue[0]
		queue = queue[1:]
		for b := range 256 {
			next, complete := m.w.stepBytes(cur.configs, []byte{byte(b)})
			path := append(append([]byte(nil), cur.path...), byte(b))
			if complete {
				return path, nil
			}
			if len(next) == 0 {
				continue
			}
			k := fmt.Sprint(stacksKey(m.w.st, next))
			if !seen[k] {
				seen[k] = true
				queue = append(queue, node{next, path})
			}
		}
	}
	return nil, errors.New("no completion found")
}

func stacksKey(st *stacks, configs []int32) []string {
	var out []string
	for _, s := range configs {
		var sb strings.Builder
		for ; s != bottom; s = st.parent[s] {
			fmt.Fprintf(&sb, "%d,", st.node[s])
		}
		out = append(out, sb.String())
	}
	return out
}

// walkSchema generates one instance: tokens sampled from the mask with
// random logits at temperature temp, for at most budget tokens, then the
// shortest completion byte by byte, then an end-of-generation token. It
// checks on the way that the mask is never empty and that Accept takes
// every masked token.
func walkSchema(t testing.TB, g *Grammar, v *Vocab, byteTok []int, rng *rand.Rand, temp float64, budget int) []byte {
	t.Helper()
	m, err := NewMatcher(g, v)
	if err != nil {
		t.Fatal(err)
	}
	mask := make([]uint64, v.MaskWords())
	logits := make([]float32, v.Size())
	var out []byte
	for step := 0; step < budget; step++ {
		m.Mask(mask)
		if Count(mask) == 0 {
			t.Fatalf("empty mask after %q", out)
		}
		for i := range logits {
			logits[i] = float32(rng.NormFloat64() * 3)
		}
		id := sampleToken(rng, logits, mask, temp)
		if v.kinds[id] == TokenEOG {
			return out
		}
		if err := m.Accept(id); err != nil {
			t.Fatalf("masked token %d refused after %q: %v", id, out, err)
		}
		out = append(out, v.pieces[id]...)
		if m.Done() {
			break
		}
	}
	rest, err := completion(m)
	if err != nil {
		t.Fatalf("after %q: %v", out, err)
	}
	for _, b := range rest {
		if err := m.Accept(byteTok[b]); err != nil {
			t.Fatalf("completion byte %q refused after %q: %v", b, out, err)
		}
		out = append(out, b)
	}
	m.Mask(mask)
	eogAllowed := false
	for _, id := range v.eog {
		eogAllowed = eogAllowed || mask[id>>6]&(1<<(id&63)) != 0
	}
	if !eogAllowed || !m.CanEnd() {
		t.Fatalf("complete text %q but EOG not allowed", out)
	}
	return out
}

// byteTokens maps each byte to a text token holding just that byte.
func byteTokens(t testing.TB, v *Vocab) []int {
	out := make([]int, 256)
	for b := range 256 {
		id, ok := -1, false
		for cand, p := range v.pieces {
			if len(p) == 1 && p[0] == byte(b) && v.kinds[cand] == TokenText {
				id, ok = cand, true
				break
			}
		}
		if !ok {
			t.Fatalf("no token for byte %#x", b)
		}
		out[b] = id
	}
	return out
}

// TestSchemaRandomWalks: every string the matcher accepts to completion,
// driven by random logits at temperature 0 and 1, is JSON valid against its
// schema (checked by the independent validator).
func TestSchemaRandomWalks(t *testing.T) {
	synth, _, _ := synthVocab(9)
	vocabs := []struct {
		name   string
		v      *Vocab
		walks  int
		budget int
	}{{"synth", synth, 6, 40}}
	if _, ok := testdataDir(); ok {
		vocabs = append(vocabs, struct {
			name   string
			v      *Vocab
			walks  int
			budget int
		}{"qwen2", loadQwen(t), 2, 30})
	}
	for _, vc := range vocabs {
		byteTok := byteTokens(t, vc.v)
		for ci, c := range loadSchemaCases(t) {
			t.Run(vc.name+"/"+c.Name, func(t *testing.T) {
				g, err := FromJSONSchema(c.Schema)
				if err != nil {
					t.Fatal(err)
				}
				s := validator(t, c.Schema)
				rng := rand.New(rand.NewPCG(uint64(ci), 99))
				for i := range vc.walks {
					for _, temp := range []float64{0, 1} {
						out := walkSchema(t, g, vc.v, byteTok, rng, temp, vc.budget)
						checkInstance(t, s, out, fmt.Sprintf("walk %d at temperature %g", i, temp))
					}
				}
			})
		}
	}
}
