package grammar

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"
)

// Matcher follows one generation through a grammar: Mask says which tokens
// may come next, Accept takes the token chosen. It is not safe for
// concurrent use; make one per request with NewMatcher (cheap once the
// grammar has met the vocabulary).
type Matcher struct {
	ix       *index
	w        walker
	configs  []int32 // the current stacks, sorted
	complete bool    // the grammar may end here
	ended    bool    // an end-of-generation token was accepted

	key     []byte
	order   []int32
	scratch []uint64
}

// ErrAmbiguous is returned (wrapped) for a token after which the grammar
// would hold more than 128 parses open at once: an ambiguous grammar, as
// "x ::= (a | a a)*" repeated, can otherwise make each step slower than the
// last. Masks leave such tokens out where they can tell.
var ErrAmbiguous = errors.New("grammar too ambiguous: too many parses open at once")

// maxArena is the stack arena size past which Accept compacts it.
const maxArena = 1 << 16

// NewMatcher returns a matcher at the start of g for tokens of v. The
// first matcher for a (g, v) pair resolves g's <token> terminals in v and
// fails if one is missing; the tables it then fills are shared by later
// matchers of the pair.
func NewMatcher(g *Grammar, v *Vocab) (*Matcher, error) {
	ix, err := g.bind(v)
	if err != nil {
		return nil, err
	}
	m := &Matcher{ix: ix}
	m.Reset()
	if len(m.configs) > maxStacks {
		return nil, fmt.Errorf("grammar: at its start: %w", ErrAmbiguous)
	}
	return m, nil
}

// Reset returns the matcher to the start of the grammar.
func (m *Matcher) Reset() {
	m.w = walker{g: m.ix.g, st: newStacks()}
	m.w.bottomHit = false
	m.configs = m.w.arrive(nil, bottom, m.ix.g.root)
	m.complete = m.w.bottomHit
	m.ended = false
	m.normalize()
}

func (m *Matcher) normalize() {
	slices.Sort(m.configs)
	m.configs = slices.Compact(m.configs)
}

// CanEnd reports whether the text so far is a complete match, so that an
// end-of-generation token is allowed now.
func (m *Matcher) CanEnd() bool { return m.complete }

// Done reports whether nothing but ending can follow: the grammar is
// complete and allows no more text (or an end-of-generation token was
// accepted). The caller should then end generation.
func (m *Matcher) Done() bool { return m.ended || (m.complete && len(m.configs) == 0) }

// Mask sets in mask (at least Vocab.MaskWords() words; bit id%64 of word
// id/64) exactly the tokens that may come next, clearing all others.
// End-of-generation tokens are set only when CanEnd. While the matcher is
// not Done, some token is always set (for vocabularies that hold every
// single byte as a token, as byte-level BPE ones do).
func (m *Matcher) Mask(mask []uint64) {
	words := m.ix.v.MaskWords()
	if len(mask) < words {
		panic(fmt.Sprintf("grammar: Mask: %d words for a vocabulary of %d tokens", len(mask), m.ix.v.Size()))
	}
	mask = mask[:words]
	clear(mask)
	if m.ended {
		return
	}
	k := m.stateKey()
	ts := m.ix.cachedState(string(k))
	if ts == nil {
		ts = m.computeMask()
		m.ix.storeState(string(k), ts)
	}
	ts.orInto(mask)
}

// stateKey encodes the current stacks by content (canonically ordered) and
// the completion flag; equal states of different matchers get equal keys.
func (m *Matcher) stateKey() []byte {
	st := m.w.st
	m.order = append(m.order[:0], m.configs...)
	slices.SortFunc(m.order, func(a, b int32) int {
		ha, hb := st.hash[a], st.hash[b]
		switch {
		case ha < hb:
			return -1
		case ha > hb:
			return 1
		}
		return 0
	})
	k := m.key[:0]
	if m.complete {
		k = append(k, 1)
	} else {
		k = append(k, 0)
	}
	for _, s := range m.order {
		for ; s != bottom; s = st.parent[s] {
			k = binary.LittleEndian.AppendUint32(k, uint32(st.node[s]))
		}
		k = binary.LittleEndian.AppendUint32(k, math.MaxUint32)
	}
	m.key = k
	return k
}

// computeMask builds the mask of the current state: the union of the
// frame-local tables of the top nodes, plus, where a token runs past a
// top frame's end, a walk of the rest of it against the real stack below.
func (m *Matcher) computeMask() *tokenSet {
	ix := m.ix
	if len(m.scratch) < ix.v.MaskWords() {
		m.scratch = make([]uint64, ix.v.MaskWords())
	}
	mask := m.scratch[:ix.v.MaskWords()]
	clear(mask)
	st := m.w.st
	for _, s := range m.configs {
		nm := ix.nodeMask(st.node[s])
		nm.accept.orInto(mask)
	}
	// Tokens that run past a top frame continue in the frame below it; the
	// walks depend only on that frame's stack, so do each once per stack.
	pops := map[int32][]int32{}
	var parents []int32
	for _, s := range m.configs {
		nm := ix.nodeMask(st.node[s])
		p := st.parent[s]
		if len(nm.pops) == 0 || p == bottom {
			continue // below the root frame nothing may follow
		}
		if _, ok := pops[p]; !ok {
			parents = append(parents, p)
		}
		pops[p] = append(pops[p], nm.pops...)
	}
	for _, p := range parents {
		init := m.w.arrive(nil, st.parent[p], st.node[p])
		if len(init) == 0 {
			continue
		}
		pts := pops[p]
		slices.Sort(pts)
		for _, pt := range slices.Compact(pts) {
			m.w.walk(&ix.v.trie, pt, init, mask, nil)
		}
	}
	if m.complete {
		for _, id := range ix.v.eog {
			mask[id>>6] |= 1 << (id & 63)
		}
	}
	ts := makeTokenSet(mask)
	return &ts
}

// Allows reports whether token may come next.
func (m *Matcher) Allows(token int) bool {
	_, _, err := m.next(token)
	return err == nil
}

// Accept advances the matcher past token, or returns an error (and stays
// where it was) if the grammar does not allow it here.
func (m *Matcher) Accept(token int) error {
	configs, complete, err := m.next(token)
	if err != nil {
		return err
	}
	if m.ix.v.kinds[token] == TokenEOG {
		m.ended = true
		m.configs = m.configs[:0]
		return nil
	}
	m.configs, m.complete = configs, complete
	m.normalize()
	if m.w.st.len() > maxArena {
		m.compact()
	}
	return nil
}

// next computes the state after token without committing it.
func (m *Matcher) next(token int) (configs []int32, complete bool, err error) {
	v := m.ix.v
	if token < 0 || token >= v.Size() {
		return nil, false, fmt.Errorf("grammar: token %d is outside the vocabulary (%d tokens)", token, v.Size())
	}
	if m.ended {
		return nil, false, fmt.Errorf("grammar: token %d after the end of generation", token)
	}
	if v.kinds[token] == TokenEOG {
		if !m.complete {
			return nil, false, fmt.Errorf("grammar: end-of-generation token %d before the grammar is complete", token)
		}
		return nil, true, nil
	}
	if p := v.pieces[token]; v.kinds[token] == TokenText && len(p) > 0 {
		m.w.overflow = false
		configs, complete = m.w.stepBytes(m.configs, p)
		if m.w.overflow {
			return nil, false, fmt.Errorf("grammar: token %d (%q): %w", token, p, ErrAmbiguous)
		}
	}
	st := m.w.st
	for _, s := range m.configs {
		for _, e := range m.ix.g.nodes[st.node[s]].toks {
			if m.ix.tokenMatches(e.label, int32(token)) {
				m.w.bottomHit = false
				configs = m.w.arrive(configs, st.parent[s], e.to)
				complete = complete || m.w.bottomHit
			}
		}
	}
	if len(configs) > maxStacks {
		return nil, false, fmt.Errorf("grammar: token %d: %w", token, ErrAmbiguous)
	}
	if len(configs) == 0 && !complete {
		return nil, false, fmt.Errorf("grammar: token %d (%q) is not allowed here", token, v.pieces[token])
	}
	return configs, complete, nil
}

// compact copies the current stacks into a fresh arena, dropping the
// stacks that earlier steps left behind.
func (m *Matcher) compact() {
	old := m.w.st
	st := newStacks()
	memo := map[int32]int32{bottom: bottom}
	var copyStack func(s int32) int32
	copyStack = func(s int32) int32 {
		if id, ok := memo[s]; ok {
			return id
		}
		id := st.push(copyStack(old.parent[s]), old.node[s])
		memo[s] = id
		return id
	}
	for i, s := range m.configs {
		m.configs[i] = copyStack(s)
	}
	m.w.st = st
	m.normalize()
}

// ApplyMask sets to -Inf the logits of the tokens not in mask (as filled
// by Matcher.Mask).
func ApplyMask(logits []float32, mask []uint64) {
	ninf := float32(math.Inf(-1))
	for i := range logits {
		if mask[i>>6]&(1<<(i&63)) == 0 {
			logits[i] = ninf
		}
	}
}

// Count returns the number of tokens set in mask.
func Count(mask []uint64) int {
	n := 0
	for _, w := range mask {
		n += bits.OnesCount64(w)
	}
	return n
}
