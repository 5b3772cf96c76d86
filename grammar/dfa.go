package grammar

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Each rule's NFA is determinized over its labels (byte ranges, rule calls,
// tokens). Calls stay edges: the matcher keeps a set of stacks for the
// choices they leave open.

type byteEdge struct {
	lo, hi byte
	to     int32
}

type labelEdge struct {
	label int32 // rule, or token index
	to    int32
}

// node is a state of a rule's DFA.
type node struct {
	rule  int32
	final bool
	bytes []byteEdge  // sorted, disjoint
	refs  []labelEdge // calls
	toks  []labelEdge // whole tokens

	// Filled by analyze: the stacks of nodes (bottom first) that stand for
	// this node once the calls it starts with are expanded, each topped by
	// a node with byte or token edges; and whether the node's rule may end
	// here without consuming more.
	frags  [][]int32
	canPop bool
}

// terminal reports whether n consumes input itself.
func (n *node) terminal() bool { return len(n.bytes) > 0 || len(n.toks) > 0 }

// pureEnd reports whether n is a final node with nothing after it.
func (n *node) pureEnd() bool {
	return n.final && len(n.bytes) == 0 && len(n.refs) == 0 && len(n.toks) == 0
}

// step returns the node n goes to on byte c, or -1.
func (n *node) step(c byte) int32 {
	for _, e := range n.bytes {
		if c < e.lo {
			return -1
		}
		if c <= e.hi {
			return e.to
		}
	}
	return -1
}

// maxDFANodes bounds the automaton of a whole grammar.
const maxDFANodes = 1 << 16

// determinize appends the DFA of rule r (NFA n) to nodes and returns the
// index of its start node.
func determinize(nodes *[]node, r int32, n *nfa, name string) (int32, error) {
	ids := map[string]int32{}
	var sets [][]int32
	key := func(set []int32) string {
		var sb strings.Builder
		for _, s := range set {
			sb.WriteString(strconv.Itoa(int(s)))
			sb.WriteByte(',')
		}
		return sb.String()
	}
	var overflow error
	add := func(set []int32) int32 {
		k := key(set)
		if id, ok := ids[k]; ok {
			return id
		}
		if len(*nodes) >= maxDFANodes {
			overflow = fmt.Errorf("grammar: rule %q: the automaton exceeds %d states (too ambiguous to determinize; simplify overlapping repetitions)", name, maxDFANodes)
			return -1
		}
		id := int32(len(*nodes))
		ids[k] = id
		*nodes = append(*nodes, node{rule: r, final: slices.Contains(set, n.accept)})
		sets = append(sets, set)
		return id
	}
	start := add(closure(n, []int32{n.start}))
	for i := int(start); i < len(*nodes) && overflow == nil; i++ {
		set := sets[i-int(start)]
		var bounds []int
		refs := map[int32][]int32{}
		toks := map[int32][]int32{}
		for _, s := range set {
			for _, e := range n.states[s].edges {
				switch e.kind {
				case edgeByte:
					bounds = append(bounds, int(e.lo), int(e.hi)+1)
				case edgeRef:
					refs[e.ref] = append(refs[e.ref], e.to)
				case edgeToken:
					toks[e.ref] = append(toks[e.ref], e.to)
				}
			}
		}
		slices.Sort(bounds)
		bounds = slices.Compact(bounds)
		var bytes []byteEdge
		for j := 0; j+1 < len(bounds); j++ {
			lo, hi := bounds[j], bounds[j+1]-1
			var targets []int32
			for _, s := range set {
				for _, e := range n.states[s].edges {
					if e.kind == edgeByte && int(e.lo) <= lo && hi <= int(e.hi) {
						targets = append(targets, e.to)
					}
				}
			}
			if len(targets) == 0 {
				continue
			}
			to := add(closure(n, targets))
			if k := len(bytes); k > 0 && bytes[k-1].to == to && int(bytes[k-1].hi)+1 == lo {
				bytes[k-1].hi = byte(hi)
				continue
			}
			bytes = append(bytes, byteEdge{lo: byte(lo), hi: byte(hi), to: to})
		}
		refEdges := labelEdges(refs, func(t []int32) int32 { return add(closure(n, t)) })
		tokEdges := labelEdges(toks, func(t []int32) int32 { return add(closure(n, t)) })
		// add may have moved *nodes: index it only now.
		(*nodes)[i].bytes, (*nodes)[i].refs, (*nodes)[i].toks = bytes, refEdges, tokEdges
	}
	return start, overflow
}

// labelEdges turns label -> NFA targets into edges sorted by label.
func labelEdges(m map[int32][]int32, add func([]int32) int32) []labelEdge {
	if len(m) == 0 {
		return nil
	}
	labels := make([]int32, 0, len(m))
	for l := range m {
		labels = append(labels, l)
	}
	slices.Sort(labels)
	out := make([]labelEdge, len(labels))
	for i, l := range labels {
		out[i] = labelEdge{label: l, to: add(m[l])}
	}
	return out
}

// closure returns the sorted epsilon closure of set, keeping only the
// states that matter to the DFA (those with edges, and the accept state),
// so that closures differing only in pass-through states are one node.
func closure(n *nfa, set []int32) []int32 {
	seen := map[int32]bool{}
	stack := slices.Clone(set)
	var out []int32
	for len(stack) > 0 {
		s := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[s] {
			continue
		}
		seen[s] = true
		if len(n.states[s].edges) > 0 || s == n.accept {
			out = append(out, s)
		}
		stack = append(stack, n.states[s].eps...)
	}
	slices.Sort(out)
	return out
}
