package grammar

import "slices"

// A matcher state is a set of stacks of DFA nodes. Each stack's top node
// consumes input (it has byte or token edges); the nodes below are where
// the rules called so far return to. Stacks are persistent and interned,
// so equal stacks are one id and pushing shares the rest.

// bottom is the empty stack.
const bottom int32 = -1

// stacks is an arena of interned stacks: id -> (top node, rest of stack).
type stacks struct {
	node   []int32
	parent []int32
	hash   []uint64 // of the whole stack's content, to order stacks canonically
	ids    map[uint64]int32
	roots  []int32 // id+1 of the one-node stack of each node (0: none yet), the common case
}

func newStacks() *stacks { return &stacks{ids: map[uint64]int32{}} }

func (s *stacks) push(parent, n int32) int32 {
	if parent == bottom && int(n) < len(s.roots) && s.roots[n] > 0 {
		return s.roots[n] - 1
	}
	k := uint64(uint32(parent))<<32 | uint64(uint32(n))
	if id, ok := s.ids[k]; ok {
		return id
	}
	h := uint64(n)*0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019
	if parent != bottom {
		h ^= s.hash[parent] * 0xBF58476D1CE4E5B9
	}
	h ^= h >> 31
	id := int32(len(s.node))
	s.node = append(s.node, n)
	s.parent = append(s.parent, parent)
	s.hash = append(s.hash, h)
	if parent == bottom {
		if int(n) >= len(s.roots) {
			s.roots = append(s.roots, make([]int32, int(n)+1-len(s.roots))...)
		}
		s.roots[n] = id + 1
	} else {
		s.ids[k] = id
	}
	return id
}

func (s *stacks) len() int { return len(s.node) }

// walker steps sets of stacks through bytes. bottomHit records that a
// step completed the bottom frame: the whole grammar, on a matcher's real
// stacks, or the frame of the node being tabulated, in index.nodeMask.
type walker struct {
	g         *Grammar
	st        *stacks
	bottomHit bool
	overflow  bool      // a step opened more than maxStacks stacks
	levels    [][]int32 // per trie depth: the stacks after that many bytes
}

// arrive appends the stacks for standing at node x on top of base: x's
// expansions, and, where x's rule may end, what its caller continues with.
func (w *walker) arrive(out []int32, base, x int32) []int32 {
	nd := &w.g.nodes[x]
	for _, f := range nd.frags {
		s := base
		for _, m := range f {
			s = w.st.push(s, m)
		}
		out = append(out, s)
	}
	if nd.canPop {
		if base == bottom {
			w.bottomHit = true
		} else {
			out = w.arrive(out, w.st.parent[base], w.st.node[base])
		}
	}
	return out
}

// maxStacks bounds the stacks of one state: a grammar so ambiguous that a
// step opens more parses than this refuses the step (ErrAmbiguous), so
// that hostile grammars cannot make a step take unbounded time.
const maxStacks = 128

// stepByte appends the stacks reached from in by consuming c.
func (w *walker) stepByte(out, in []int32, c byte) []int32 {
	start := len(out)
	for _, s := range in {
		if to := w.g.nodes[w.st.node[s]].step(c); to >= 0 {
			out = w.arrive(out, w.st.parent[s], to)
		}
	}
	if len(out)-start > 1 {
		sub := out[start:]
		slices.Sort(sub)
		out = out[:start+len(slices.Compact(sub))]
	}
	if len(out)-start > maxStacks {
		w.overflow = true
		w.bottomHit = false
		return out[:start]
	}
	return out
}

// stepBytes steps in through all of p; complete reports whether some path
// completed the bottom frame with the last byte.
func (w *walker) stepBytes(in []int32, p []byte) (out []int32, complete bool) {
	cur := slices.Clone(in)
	for i, c := range p {
		w.bottomHit = false
		cur = w.stepByte(nil, cur, c)
		complete = w.bottomHit && i == len(p)-1
		if len(cur) == 0 {
			break
		}
	}
	return cur, complete
}

// walk visits the subtree of trie node root, whose prefix leads to the
// stacks init, and sets in mask the bit of every token whose remaining
// bytes the stacks accept (alive at its end, or completing the bottom
// frame exactly there). With pops non-nil it also records the trie nodes
// where the bottom frame completes while the subtree goes on: the tokens
// below those depend on what lies under the bottom frame.
func (w *walker) walk(t *trie, root int32, init []int32, mask []uint64, pops *[]int32) {
	if len(w.levels) <= t.maxLen {
		w.levels = make([][]int32, t.maxLen+1)
	}
	d0 := t.depth[root]
	w.levels[d0] = append(w.levels[d0][:0], init...)
	for i, end := root+1, t.end[root]; i < end; {
		d := t.depth[i]
		w.bottomHit = false
		w.levels[d] = w.stepByte(w.levels[d][:0], w.levels[d-1], t.char[i])
		alive := len(w.levels[d]) > 0
		if w.bottomHit && pops != nil && t.end[i] > i+1 {
			*pops = append(*pops, i)
		}
		if alive || w.bottomHit {
			for _, id := range t.tokens(i) {
				mask[id>>6] |= 1 << (id & 63)
			}
		}
		if alive {
			i++
		} else {
			i = t.end[i]
		}
	}
}
