package grammar

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// analyze checks the determinized grammar and prepares it for matching:
// it drops what can never complete, refuses left recursion (as llama.cpp
// does: a pushdown matcher would loop on it), and computes each node's
// expansion (frags, canPop).
func (g *Grammar) analyze() error {
	nullable := g.fixpoint(func(e labelEdge, ok []bool) bool { return ok[e.label] }, false)
	productive := g.fixpoint(func(e labelEdge, ok []bool) bool { return ok[e.label] }, true)
	if !productive[g.rootRule] {
		return fmt.Errorf("grammar: rule %q matches no finite string", g.names[g.rootRule])
	}
	g.trim(productive)
	if err := g.checkLeftRecursion(nullable); err != nil {
		return err
	}
	state := make([]uint8, len(g.nodes))
	for i := range g.nodes {
		if err := g.expand(int32(i), nullable, state); err != nil {
			return err
		}
	}
	return nil
}

// fixpoint computes, per rule, whether its start reaches a final node
// through calls accepted by follow (and, with consume, byte and token
// edges too): with consume false that is "may match the empty string",
// with consume true "matches some finite string".
func (g *Grammar) fixpoint(follow func(labelEdge, []bool) bool, consume bool) []bool {
	ok := make([]bool, len(g.starts))
	for changed := true; changed; {
		changed = false
		for r, start := range g.starts {
			if start < 0 || ok[r] {
				continue
			}
			if g.reachesFinal(start, func(e labelEdge) bool { return follow(e, ok) }, consume) {
				ok[r] = true
				changed = true
			}
		}
	}
	return ok
}

func (g *Grammar) reachesFinal(from int32, follow func(labelEdge) bool, consume bool) bool {
	seen := map[int32]bool{from: true}
	stack := []int32{from}
	for len(stack) > 0 {
		n := &g.nodes[stack[len(stack)-1]]
		stack = stack[:len(stack)-1]
		if n.final {
			return true
		}
		var next []int32
		for _, e := range n.refs {
			if follow(e) {
				next = append(next, e.to)
			}
		}
		if consume {
			for _, e := range n.bytes {
				next = append(next, e.to)
			}
			for _, e := range n.toks {
				next = append(next, e.to)
			}
		}
		for _, t := range next {
			if !seen[t] {
				seen[t] = true
				stack = append(stack, t)
			}
		}
	}
	return false
}

// trim removes the edges into nodes that cannot reach their rule's end and
// the calls of rules that match nothing, so that every live matcher state
// can still complete.
func (g *Grammar) trim(productive []bool) {
	rev := make([][]int32, len(g.nodes))
	var work []int32
	for i := range g.nodes {
		n := &g.nodes[i]
		if n.final {
			work = append(work, int32(i))
		}
		for _, e := range n.bytes {
			rev[e.to] = append(rev[e.to], int32(i))
		}
		for _, e := range n.toks {
			rev[e.to] = append(rev[e.to], int32(i))
		}
		for _, e := range n.refs {
			if productive[e.label] {
				rev[e.to] = append(rev[e.to], int32(i))
			}
		}
	}
	live := make([]bool, len(g.nodes))
	for _, w := range work {
		live[w] = true
	}
	for len(work) > 0 {
		t := work[len(work)-1]
		work = work[:len(work)-1]
		for _, s := range rev[t] {
			if !live[s] {
				live[s] = true
				work = append(work, s)
			}
		}
	}
	for i := range g.nodes {
		n := &g.nodes[i]
		n.bytes = slices.DeleteFunc(n.bytes, func(e byteEdge) bool { return !live[e.to] })
		n.toks = slices.DeleteFunc(n.toks, func(e labelEdge) bool { return !live[e.to] })
		n.refs = slices.DeleteFunc(n.refs, func(e labelEdge) bool { return !live[e.to] || !productive[e.label] })
	}
}

// skipSet returns n and the nodes reached from it by calling rules that
// may match nothing, as if they had.
func (g *Grammar) skipSet(n int32, nullable []bool) []int32 {
	out := []int32{n}
	for i := 0; i < len(out); i++ {
		for _, e := range g.nodes[out[i]].refs {
			if nullable[e.label] && !slices.Contains(out, e.to) {
				out = append(out, e.to)
			}
		}
	}
	return out
}

func (g *Grammar) checkLeftRecursion(nullable []bool) error {
	calls := make([][]int32, len(g.starts))
	for r, start := range g.starts {
		if start < 0 {
			continue
		}
		for _, m := range g.skipSet(start, nullable) {
			for _, e := range g.nodes[m].refs {
				calls[r] = append(calls[r], e.label)
			}
		}
	}
	color := make([]uint8, len(g.starts))
	var visit func(r int32) error
	visit = func(r int32) error {
		color[r] = 1
		for _, c := range calls[r] {
			switch color[c] {
			case 1:
				return fmt.Errorf("grammar: rule %q is left-recursive (it can reach itself without consuming input)", g.names[c])
			case 0:
				if err := visit(c); err != nil {
					return err
				}
			}
		}
		color[r] = 2
		return nil
	}
	for r := range calls {
		if color[r] == 0 && g.starts[r] >= 0 {
			if err := visit(int32(r)); err != nil {
				return err
			}
		}
	}
	return nil
}

// maxFrags bounds the expansions of one node, against grammars so
// ambiguous that a step would fan out into thousands of stacks.
const maxFrags = 4096

// expand fills n's frags and canPop: the node stacks that replace n when
// the calls at n are entered (a call pushes its return node, unless that
// is a pure end: a tail call), each topped by a node that consumes input;
// calls of rules that may match nothing are also skipped over.
func (g *Grammar) expand(n int32, nullable []bool, state []uint8) error {
	switch state[n] {
	case 2:
		return nil
	case 1:
		// Unreachable after checkLeftRecursion; kept as a guard.
		return fmt.Errorf("grammar: rule %q is left-recursive", g.names[g.nodes[n].rule])
	}
	state[n] = 1
	seen := map[string]bool{}
	var frags [][]int32
	addFrag := func(f []int32) {
		var sb strings.Builder
		for _, x := range f {
			sb.WriteString(strconv.Itoa(int(x)))
			sb.WriteByte(',')
		}
		if k := sb.String(); !seen[k] {
			seen[k] = true
			frags = append(frags, f)
		}
	}
	canPop := false
	for _, m := range g.skipSet(n, nullable) {
		nd := &g.nodes[m]
		canPop = canPop || nd.final
		if nd.terminal() {
			addFrag([]int32{m})
		}
		for _, e := range nd.refs {
			start := g.starts[e.label]
			if err := g.expand(start, nullable, state); err != nil {
				return err
			}
			var prefix []int32
			if !g.nodes[e.to].pureEnd() {
				prefix = []int32{e.to}
			}
			for _, sub := range g.nodes[start].frags {
				addFrag(append(slices.Clone(prefix), sub...))
			}
			if len(frags) > maxFrags {
				return fmt.Errorf("grammar: rule %q is too ambiguous: more than %d parses open at once", g.names[nd.rule], maxFrags)
			}
		}
	}
	g.nodes[n].frags = frags
	g.nodes[n].canPop = canPop
	state[n] = 2
	return nil
}
