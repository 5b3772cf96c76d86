package grammar

import (
	"fmt"
	"sync"
)

// Grammar is a compiled grammar: one byte-level automaton per rule. It is
// immutable and safe for concurrent use; it also holds the tables built
// for each Vocab it is matched against (see NewMatcher), so keep and reuse
// it (Cache does) rather than compiling the same text again.
type Grammar struct {
	src      string
	names    []string // rule names, by rule index
	starts   []int32  // start node of each rule, -1 if unused
	nodes    []node
	rootRule int32
	root     int32 // start node of "root"
	tokens   []tokenRef

	mu    sync.Mutex
	bound map[*Vocab]*index
}

// Inlining: a call of a non-recursive rule whose automaton has at most
// inlineLimit states is replaced by a copy, while the caller stays below
// inlineMaxSize states.
const (
	inlineLimit   = 64
	inlineMaxSize = 4096
)

// Parse compiles a grammar in llama.cpp's GBNF format. Matching starts at
// the rule named "root". Besides syntax errors it refuses left recursion,
// undefined rules and grammars that match no finite string.
func Parse(src string) (g *Grammar, err error) {
	rules, index, err := parseGBNF(src)
	if err != nil {
		return nil, err
	}
	root, ok := index["root"]
	if !ok {
		return nil, fmt.Errorf("grammar: no rule named \"root\"")
	}
	defer func() {
		if r := recover(); r != nil {
			ce, ok := r.(compileError)
			if !ok {
				panic(r)
			}
			g, err = nil, ce.err
		}
	}()
	var tokens tokenTable
	nfas := make([]*nfa, len(rules))
	for i, r := range rules {
		nfas[i] = buildNFA(r, &tokens)
	}
	inline(nfas, inlineLimit, inlineMaxSize)
	g = &Grammar{src: src, rootRule: int32(root), tokens: tokens.refs}
	g.names = make([]string, len(rules))
	g.starts = make([]int32, len(rules))
	for i, r := range rules {
		g.names[i] = r.name
		g.starts[i] = -1
	}
	// Determinize the rules still called from root, in the order found.
	order := []int32{int32(root)}
	g.starts[root] = -2
	for i := 0; i < len(order); i++ {
		r := order[i]
		for _, st := range nfas[r].states {
			for _, e := range st.edges {
				if e.kind == edgeRef && g.starts[e.ref] == -1 {
					g.starts[e.ref] = -2
					order = append(order, e.ref)
				}
			}
		}
	}
	for _, r := range order {
		start, err := determinize(&g.nodes, r, nfas[r], rules[r].name)
		if err != nil {
			return nil, err
		}
		g.starts[r] = start
	}
	g.root = g.starts[root]
	if err := g.analyze(); err != nil {
		return nil, err
	}
	return g, nil
}

// String returns the GBNF source the grammar was compiled from.
func (g *Grammar) String() string { return g.src }
