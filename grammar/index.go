package grammar

import (
	"fmt"
	"math/bits"
	"sync"
	"sync/atomic"
)

// index holds the tables of one grammar for one vocabulary, filled lazily
// and shared by all matchers of the pair:
//
//   - per DFA node, the tokens its frame accepts whatever lies beneath it
//     (the precomputed "always allowed" part; everything else is never
//     allowed by that node) and the trie nodes where a token runs past the
//     frame's end (the uncertain rest, checked against real stacks);
//   - per matcher state (set of stacks, by content), the finished mask.
type index struct {
	g      *Grammar
	v      *Vocab
	tokIDs []int32 // the grammar's token references, resolved

	nodes []atomic.Pointer[nodeMask]

	mu         sync.RWMutex
	states     map[string]*tokenSet
	stateBytes int
}

// maxStateBytes bounds the state cache of one grammar and vocabulary; when
// it is full the cache starts over.
const maxStateBytes = 64 << 20

// nodeMask is the frame-local table of one DFA node.
type nodeMask struct {
	accept tokenSet
	pops   []int32 // trie nodes where the frame ends inside a token
}

// tokenSet is a set of token ids, dense (a bitset) when large.
type tokenSet struct {
	dense  []uint64
	sparse []int32
	count  int
}

func makeTokenSet(mask []uint64) tokenSet {
	n := 0
	for _, w := range mask {
		n += bits.OnesCount64(w)
	}
	if n*32 >= len(mask)*64 {
		return tokenSet{dense: append([]uint64(nil), mask...), count: n}
	}
	ts := tokenSet{sparse: make([]int32, 0, n), count: n}
	for i, w := range mask {
		for w != 0 {
			ts.sparse = append(ts.sparse, int32(i*64+bits.TrailingZeros64(w)))
			w &= w - 1
		}
	}
	return ts
}

// orInto adds the set to mask.
func (ts *tokenSet) orInto(mask []uint64) {
	if ts.dense != nil {
		for i, w := range ts.dense {
			mask[i] |= w
		}
		return
	}
	for _, id := range ts.sparse {
		mask[id>>6] |= 1 << (id & 63)
	}
}

func (ts *tokenSet) bytes() int { return 8*len(ts.dense) + 4*len(ts.sparse) + 64 }

// bind returns g's index for v, building it on first use.
func (g *Grammar) bind(v *Vocab) (*index, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if ix, ok := g.bound[v]; ok {
		return ix, nil
	}
	ix := &index{g: g, v: v, nodes: make([]atomic.Pointer[nodeMask], len(g.nodes)), states: map[string]*tokenSet{}}
	for _, r := range g.tokens {
		id := int32(r.id)
		if r.id < 0 {
			var ok bool
			if id, ok = v.byText[r.text]; !ok {
				return nil, fmt.Errorf("grammar: token %s is not in the vocabulary", r.text)
			}
		} else if r.id >= v.Size() {
			return nil, fmt.Errorf("grammar: token <[%d]> is past the vocabulary (%d tokens)", r.id, v.Size())
		}
		ix.tokIDs = append(ix.tokIDs, id)
	}
	if g.bound == nil {
		g.bound = map[*Vocab]*index{}
	}
	g.bound[v] = ix
	return ix, nil
}

// tokenMatches reports whether token id satisfies the grammar's token
// terminal t. EOG tokens never do: the matcher governs them by completion.
func (ix *index) tokenMatches(t int32, id int32) bool {
	if ix.v.kinds[id] == TokenEOG || (ix.v.kinds[id] == TokenText && len(ix.v.pieces[id]) == 0) {
		return false
	}
	return (ix.tokIDs[t] == id) != ix.g.tokens[t].not
}

var stacksPool = sync.Pool{New: func() any { return newStacks() }}

// nodeMask returns n's table, computing it on first use: a walk of the
// whole token trie from a stack holding only n. Concurrent first uses may
// both compute it; one result is kept.
func (ix *index) nodeMask(n int32) *nodeMask {
	if nm := ix.nodes[n].Load(); nm != nil {
		return nm
	}
	st := stacksPool.Get().(*stacks)
	w := walker{g: ix.g, st: st}
	mask := make([]uint64, ix.v.MaskWords())
	nm := &nodeMask{}
	if len(ix.g.nodes[n].bytes) > 0 {
		w.walk(&ix.v.trie, 0, []int32{st.push(bottom, n)}, mask, &nm.pops)
	}
	for _, e := range ix.g.nodes[n].toks {
		if !ix.g.tokens[e.label].not {
			if id := ix.tokIDs[e.label]; ix.tokenMatches(e.label, id) {
				mask[id>>6] |= 1 << (id & 63)
			}
			continue
		}
		for id := range int32(ix.v.Size()) {
			if ix.tokenMatches(e.label, id) {
				mask[id>>6] |= 1 << (id & 63)
			}
		}
	}
	nm.accept = makeTokenSet(mask)
	clear(st.ids)
	clear(st.roots)
	st.node, st.parent, st.hash = st.node[:0], st.parent[:0], st.hash[:0]
	stacksPool.Put(st)
	if !ix.nodes[n].CompareAndSwap(nil, nm) {
		return ix.nodes[n].Load()
	}
	return nm
}

// cachedState returns the finished mask of the state with key k, if known.
func (ix *index) cachedState(k string) *tokenSet {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.states[k]
}

func (ix *index) storeState(k string, ts *tokenSet) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if ix.stateBytes+ts.bytes()+len(k) > maxStateBytes {
		ix.states = map[string]*tokenSet{}
		ix.stateBytes = 0
	}
	if _, ok := ix.states[k]; !ok {
		ix.states[k] = ts
		ix.stateBytes += ts.bytes() + len(k)
	}
}
