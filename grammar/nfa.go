package grammar

import "fmt"

// Each rule is compiled to a byte-level NFA whose edges consume a byte
// range, call a rule, or consume one whole token; literals and character
// classes become chains of byte ranges (classes through their UTF-8
// encodings), repetitions become copies.

type edgeKind uint8

const (
	edgeByte  edgeKind = iota // lo..hi
	edgeRef                   // calls rule ref
	edgeToken                 // one whole token, the grammar's token tok
)

type nfaEdge struct {
	kind   edgeKind
	lo, hi byte
	ref    int32 // rule, for edgeRef; token index, for edgeToken
	to     int32
}

type nfaState struct {
	eps   []int32
	edges []nfaEdge
}

// nfa is one rule's automaton, from start to accept.
type nfa struct {
	states        []nfaState
	start, accept int32
}

// compileError carries an error out of a deep compilation step by panic;
// Parse recovers it (and only it).
type compileError struct{ err error }

// maxNFAStates bounds one rule's automaton, so that a hostile grammar
// ("x{2000}{2000}") is refused rather than exhausting memory.
const maxNFAStates = 1 << 20

type nfaBuilder struct {
	n      *nfa
	tokens *tokenTable
	rule   string
}

// tokenTable interns the token references of a grammar.
type tokenTable struct {
	refs  []tokenRef
	index map[tokenRef]int32
}

func (t *tokenTable) intern(r tokenRef) int32 {
	if i, ok := t.index[r]; ok {
		return i
	}
	if t.index == nil {
		t.index = map[tokenRef]int32{}
	}
	t.index[r] = int32(len(t.refs))
	t.refs = append(t.refs, r)
	return int32(len(t.refs) - 1)
}

func (b *nfaBuilder) state() int32 {
	if len(b.n.states) >= maxNFAStates {
		panic(compileError{fmt.Errorf("grammar: rule %q expands to more than %d states; reduce its repetition counts", b.rule, maxNFAStates)})
	}
	b.n.states = append(b.n.states, nfaState{})
	return int32(len(b.n.states) - 1)
}

func (b *nfaBuilder) eps(from, to int32) {
	b.n.states[from].eps = append(b.n.states[from].eps, to)
}

func (b *nfaBuilder) edge(from int32, e nfaEdge) {
	b.n.states[from].edges = append(b.n.states[from].edges, e)
}

// buildNFA compiles one rule; it panics with an error when the rule is too
// large (buildNFAs recovers it).
func buildNFA(r *rule, tokens *tokenTable) *nfa {
	b := &nfaBuilder{n: &nfa{}, tokens: tokens, rule: r.name}
	b.n.start, b.n.accept = b.state(), b.state()
	b.alts(r.alts, b.n.start, b.n.accept)
	return b.n
}

func (b *nfaBuilder) alts(alts [][]*item, from, to int32) {
	for _, seq := range alts {
		cur := from
		for i, it := range seq {
			next := to
			if i < len(seq)-1 {
				next = b.state()
			}
			b.repeated(it, cur, next)
			cur = next
		}
		if len(seq) == 0 {
			b.eps(from, to)
		}
	}
}

// repeated builds it{min,max} from from to to.
func (b *nfaBuilder) repeated(it *item, from, to int32) {
	if it.min == 1 && it.max == 1 {
		b.single(it, from, to)
		return
	}
	cur := from
	for range it.min {
		next := b.state()
		b.single(it, cur, next)
		cur = next
	}
	if it.max < 0 {
		loop := b.state()
		b.eps(cur, loop)
		b.single(it, loop, loop)
		b.eps(loop, to)
		return
	}
	for range it.max - it.min {
		next := b.state()
		b.eps(cur, to)
		b.single(it, cur, next)
		cur = next
	}
	b.eps(cur, to)
}

// single builds one occurrence of it. It may connect from and to directly
// (from == to makes a loop), so each occurrence gets fresh inner states.
func (b *nfaBuilder) single(it *item, from, to int32) {
	switch it.kind {
	case itemLiteral:
		b.bytes(it.lit, from, to)
	case itemClass:
		rs := normalize(it.ranges)
		if it.neg {
			rs = complement(rs)
		}
		b.codepoints(rs, from, to)
	case itemAny:
		b.codepoints(complement(nil), from, to)
	case itemRef:
		b.edge(from, nfaEdge{kind: edgeRef, ref: int32(it.ref), to: to})
	case itemGroup:
		if from == to {
			// A loop over alternatives: enter and leave through fresh states
			// so that an alternative's inner loops do not join this one.
			in, out := b.state(), b.state()
			b.eps(from, in)
			b.alts(it.alts, in, out)
			b.eps(out, to)
			return
		}
		b.alts(it.alts, from, to)
	case itemToken:
		b.edge(from, nfaEdge{kind: edgeToken, ref: b.tokens.intern(it.tok), to: to})
	}
}

func (b *nfaBuilder) bytes(lit []byte, from, to int32) {
	if len(lit) == 0 {
		b.eps(from, to)
		return
	}
	cur := from
	for i, c := range lit {
		next := to
		if i < len(lit)-1 {
			next = b.state()
		}
		b.edge(cur, nfaEdge{kind: edgeByte, lo: c, hi: c, to: next})
		cur = next
	}
}

// codepoints builds the union of the UTF-8 encodings of rs. An empty set
// matches nothing: from gets no edge to to.
func (b *nfaBuilder) codepoints(rs []cpRange, from, to int32) {
	for _, seq := range utf8Seqs(rs) {
		cur := from
		for i, br := range seq {
			next := to
			if i < len(seq)-1 {
				next = b.state()
			}
			b.edge(cur, nfaEdge{kind: edgeByte, lo: br.lo, hi: br.hi, to: next})
			cur = next
		}
	}
}

// inline replaces calls of small non-recursive rules by copies of their
// automata, callees first, so that the frames the mask precomputation
// works within are larger (fewer tokens depend on the caller's context).
func inline(nfas []*nfa, limit, maxSize int) {
	order, recursive := callOrder(nfas)
	for _, r := range order {
		n := nfas[r]
		for s := 0; s < len(n.states); s++ {
			edges := n.states[s].edges
			kept := edges[:0]
			for _, e := range edges {
				if e.kind != edgeRef || recursive[e.ref] {
					kept = append(kept, e)
					continue
				}
				callee := nfas[e.ref]
				if len(callee.states) > limit || len(n.states)+len(callee.states) > maxSize {
					kept = append(kept, e)
					continue
				}
				off := int32(len(n.states))
				for _, st := range callee.states {
					c := nfaState{eps: make([]int32, len(st.eps)), edges: make([]nfaEdge, len(st.edges))}
					for i, t := range st.eps {
						c.eps[i] = t + off
					}
					for i, ce := range st.edges {
						ce.to += off
						c.edges[i] = ce
					}
					n.states = append(n.states, c)
				}
				n.states[s].eps = append(n.states[s].eps, callee.start+off)
				n.states[callee.accept+off].eps = append(n.states[callee.accept+off].eps, e.to)
			}
			n.states[s].edges = kept
		}
	}
}

// callOrder returns the rules callees first (Tarjan's strongly connected
// components come out in reverse topological order) and which rules are
// recursive (in a cycle of calls, or calling themselves).
func callOrder(nfas []*nfa) (order []int, recursive []bool) {
	n := len(nfas)
	recursive = make([]bool, n)
	index := make([]int, n)
	low := make([]int, n)
	onStack := make([]bool, n)
	for i := range index {
		index[i] = -1
	}
	var stack []int
	next := 0
	callees := func(r int) []int {
		var out []int
		for _, st := range nfas[r].states {
			for _, e := range st.edges {
				if e.kind == edgeRef {
					out = append(out, int(e.ref))
				}
			}
		}
		return out
	}
	var visit func(r int)
	visit = func(r int) {
		index[r], low[r] = next, next
		next++
		stack = append(stack, r)
		onStack[r] = true
		for _, c := range callees(r) {
			if c == r {
				recursive[r] = true
			}
			if index[c] < 0 {
				visit(c)
				low[r] = min(low[r], low[c])
			} else if onStack[c] {
				low[r] = min(low[r], index[c])
			}
		}
		if low[r] == index[r] {
			var scc []int
			for {
				top := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				onStack[top] = false
				scc = append(scc, top)
				if top == r {
					break
				}
			}
			if len(scc) > 1 {
				for _, s := range scc {
					recursive[s] = true
				}
			}
			order = append(order, scc...)
		}
	}
	for r := range nfas {
		if index[r] < 0 {
			visit(r)
		}
	}
	return order, recursive
}
