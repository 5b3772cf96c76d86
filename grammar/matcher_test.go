package grammar

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// randomGrammar writes a random GBNF grammar over a small alphabet (ASCII,
// two- three- and four-byte characters), with calls, recursion that is not
// left recursion, groups and repetitions.
func randomGrammar(rng *rand.Rand) string {
	nrules := 1 + rng.IntN(4)
	// Few atoms overlap much ("." and negated classes), so that most
	// grammars stay far from the ambiguity limit.
	atoms := []string{`"a"`, `"b"`, `"ab"`, `"é"`, `"中"`, `"😀"`, `"{"`, `"}"`, `[a-c]`, `[é-ü]`, `"a"`, `"b"`, `[^a-zé]`, `.`, `""`}
	var item func(r, depth int, guarded bool) string
	seq := func(r, depth int, guarded bool) string {
		var parts []string
		for range 1 + rng.IntN(3) {
			parts = append(parts, item(r, depth, guarded))
			guarded = true // later items follow a consuming first one... mostly
		}
		return strings.Join(parts, " ")
	}
	item = func(r, depth int, guarded bool) string {
		var s string
		switch k := rng.IntN(10); {
		case k < 5 || depth > 2:
			s = atoms[rng.IntN(len(atoms)-1)] // never "" first, to keep recursion guarded
		case k < 7:
			// A call: to a later rule anywhere, to any rule once guarded.
			lo := r + 1
			if guarded {
				lo = 0
			}
			if lo >= nrules {
				s = atoms[rng.IntN(len(atoms))]
				break
			}
			s = fmt.Sprintf("r%d", lo+rng.IntN(nrules-lo))
		default:
			var alts []string
			for range 1 + rng.IntN(3) {
				alts = append(alts, seq(r, depth+1, guarded))
			}
			s = "(" + strings.Join(alts, " | ") + ")"
		}
		switch rng.IntN(12) {
		case 0:
			s += "*"
		case 1:
			s += "+"
		case 2:
			s += "?"
		case 3:
			s += fmt.Sprintf("{%d,%d}", rng.IntN(2), 1+rng.IntN(3))
		}
		return s
	}
	var sb strings.Builder
	for r := range nrules {
		name := fmt.Sprintf("r%d", r)
		if r == 0 {
			name = "root"
		}
		var alts []string
		for range 1 + rng.IntN(3) {
			alts = append(alts, seq(r, 0, false))
		}
		fmt.Fprintf(&sb, "%s ::= %s\n", name, strings.Join(alts, " | "))
	}
	return strings.ReplaceAll(sb.String(), " r0", " root")
}

// TestMatcherAgainstReference compares the matcher, fed byte by byte, with
// the backtracking reference on random grammars and strings: after every
// prefix, the matcher is alive exactly when the prefix is viable, and may
// end exactly when it is a complete match.
func TestMatcherAgainstReference(t *testing.T) {
	v := byteVocab()
	rng := rand.New(rand.NewPCG(11, 12))
	grammars, checked, ambiguous := 0, 0, 0
	mask := make([]uint64, v.MaskWords())
	for grammars < 150 {
		src := randomGrammar(rng)
		g, err := Parse(src)
		if err != nil {
			continue // unproductive or left-recursive by chance
		}
		grammars++
		rules, index, _ := parseGBNF(src)
		root := index["root"]
		for range 12 {
			// Half the strings follow the matcher (viable by construction
			// if the matcher is right), half are random bytes.
			m, _ := NewMatcher(g, v)
			var in []byte
			follow := rng.IntN(2) == 0
			for step := 0; step < 12; step++ {
				var c byte
				if follow {
					m.Mask(mask)
					ok := setBits(mask, 256)
					if len(ok) == 0 {
						break
					}
					c = byte(ok[rng.IntN(len(ok))])
				} else {
					const junk = "ab{}\xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80z"
					c = junk[rng.IntN(len(junk))]
				}
				in = append(in, c)
				err := m.Accept(int(c))
				if errors.Is(err, ErrAmbiguous) {
					ambiguous++
					break
				}
				accepted := err == nil
				viable, done := refViable(rules, root, in)
				if !done {
					break
				}
				checked++
				if accepted != viable {
					t.Fatalf("grammar:\n%s\nprefix %q: matcher accepts %v, reference viable %v", src, in, accepted, viable)
				}
				if !accepted {
					break
				}
				complete, done := refComplete(rules, root, in)
				if done && complete != m.CanEnd() {
					t.Fatalf("grammar:\n%s\n%q: matcher CanEnd %v, reference complete %v", src, in, m.CanEnd(), complete)
				}
			}
		}
	}
	t.Logf("%d grammars, %d prefixes checked, %d walks stopped at the ambiguity limit", grammars, checked, ambiguous)
	if ambiguous > grammars {
		t.Errorf("too many walks hit the ambiguity limit: the test checks little")
	}
}

// TestMaskMatchesAllows checks the precomputed, cached masks against
// stepping each token through the stacks directly, on random walks over
// random grammars with a vocabulary of multi-byte tokens; it also checks
// that the mask is never empty before Done.
func TestMaskMatchesAllows(t *testing.T) {
	v, _, _ := synthVocab(3)
	rng := rand.New(rand.NewPCG(21, 22))
	mask := make([]uint64, v.MaskWords())
	grammars := 0
	for grammars < 40 {
		g, err := Parse(randomGrammar(rng))
		if err != nil {
			continue
		}
		grammars++
		for range 4 {
			m, err := NewMatcher(g, v)
			if err != nil {
				t.Fatal(err)
			}
			for step := 0; step < 20 && !m.Done(); step++ {
				m.Mask(mask)
				got := setBits(mask, v.Size())
				var want []int
				hitLimit := false
				for id := range v.Size() {
					_, _, err := m.next(id)
					if err == nil {
						want = append(want, id)
					}
					hitLimit = hitLimit || errors.Is(err, ErrAmbiguous)
				}
				if hitLimit {
					// Past the limit the mask may keep tokens that Accept
					// refuses with ErrAmbiguous; nothing to compare.
					break
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Fatalf("grammar:\n%s\nstep %d: mask differs from Allows (-want +got):\n%s", g, step, diff)
				}
				if len(got) == 0 {
					t.Fatalf("grammar:\n%s\nstep %d: empty mask before Done", g, step)
				}
				id := got[rng.IntN(len(got))]
				if v.kinds[id] == TokenEOG {
					break
				}
				if err := m.Accept(id); err != nil {
					t.Fatalf("accepting a masked token: %v", err)
				}
			}
		}
	}
}

func TestAcceptRefusesAndKeepsState(t *testing.T) {
	v := byteVocab()
	m, err := NewMatcher(mustParse(t, `root ::= "ab"`), v)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Accept('x'); err == nil {
		t.Fatal("x accepted")
	}
	if err := m.Accept(256); err == nil || !strings.Contains(err.Error(), "before the grammar is complete") {
		t.Fatalf("early EOG: %v", err)
	}
	if err := m.Accept(-1); err == nil {
		t.Fatal("token -1 accepted")
	}
	if feed(m, "ab") != 2 || !m.CanEnd() || !m.Done() {
		t.Fatalf("after the refusals the matcher lost its place")
	}
	if err := m.Accept(256); err != nil {
		t.Fatal(err)
	}
	if err := m.Accept('a'); err == nil {
		t.Fatal("a token after EOG accepted")
	}
	m.Reset()
	if feed(m, "ab") != 2 {
		t.Fatal("Reset did not return to the start")
	}
}

// TestStatesShared checks that a second matcher meets the first one's
// cached states (the mask cache is keyed by content, not by matcher).
func TestStatesShared(t *testing.T) {
	v, _, _ := synthVocab(5)
	g := mustParse(t, `root ::= "[" ( [a-z]+ ("," [a-z]+)* )? "]"`)
	mask := make([]uint64, v.MaskWords())
	ix, _ := g.bind(v)
	var sizes []int
	for range 2 {
		m, _ := NewMatcher(g, v)
		for _, c := range "[ab,c" {
			m.Mask(mask)
			if err := m.Accept(int(c)); err != nil {
				t.Fatal(err)
			}
		}
		sizes = append(sizes, len(ix.states))
	}
	// "[a" and "[ab" are one state: 4 states, and none new the second time.
	if sizes[0] != 4 || sizes[1] != 4 {
		t.Errorf("states cached after each of two equal walks: %v, want [4 4]", sizes)
	}
}
