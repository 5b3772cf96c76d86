package tokenizer

import "sort"

// trie is a byte trie over the special token texts.
type trie struct {
	nodes []trieNode
	first [256]bool // bytes that start some text
}

type trieNode struct {
	next  map[byte]int32
	value int32 // rank in Tokenizer.specials, or -1
}

func newTrie() *trie { return &trie{nodes: []trieNode{{value: -1}}} }

func (t *trie) insert(s string, value int) {
	if s != "" {
		t.first[s[0]] = true
	}
	n := 0
	for i := 0; i < len(s); i++ {
		nx, ok := t.nodes[n].next[s[i]]
		if !ok {
			if t.nodes[n].next == nil {
				t.nodes[n].next = make(map[byte]int32)
			}
			nx = int32(len(t.nodes))
			t.nodes[n].next[s[i]] = nx
			t.nodes = append(t.nodes, trieNode{value: -1})
		}
		n = int(nx)
	}
	t.nodes[n].value = int32(value)
}

// span is a byte range of the text: a special token (rank >= 0) or
// whitespace a special token stripped (rank -1).
type span struct {
	start, end int
	rank       int
}

// fragment is a piece of the text to tokenize: raw text, or one token.
type fragment struct {
	text  string
	token int // -1 for raw text
}

// Range is the byte range [Start, End) of a text.
type Range struct{ Start, End int }

// overlaps reports whether [s, e) overlaps any of the sorted ranges rs.
func overlaps(rs []Range, s, e int) bool {
	k := sort.Search(len(rs), func(k int) bool { return rs[k].End > s })
	return k < len(rs) && rs[k].Start < e
}

// partition splits text at special tokens the way llama.cpp's
// tokenizer_st_partition does: each special token, longest first, claims
// its leftmost non-overlapping occurrences in the text not yet claimed.
// Control and unknown tokens take part only when parseSpecial is set and
// they do not overlap a range in plain (sorted, for text a user supplied);
// user-defined tokens always do.
func (t *Tokenizer) partition(text string, parseSpecial bool, plain []Range, frags []fragment) []fragment {
	pos := 0
	for _, c := range t.claim(text, parseSpecial, plain) {
		if c.start > pos {
			frags = append(frags, fragment{text: text[pos:c.start], token: -1})
		}
		if c.rank >= 0 {
			frags = append(frags, fragment{token: int(t.specials[c.rank])})
		}
		pos = c.end
	}
	if pos < len(text) {
		frags = append(frags, fragment{text: text[pos:], token: -1})
	}
	return frags
}

// ControlRanges returns the byte ranges of text that Encode with
// parseSpecial would turn into control or unknown tokens, in order.
func (t *Tokenizer) ControlRanges(text string) []Range {
	var rs []Range
	for _, c := range t.claim(text, true, nil) {
		if c.rank >= 0 && t.attrs[t.specials[c.rank]]&(attrControl|attrUnknown) != 0 {
			rs = append(rs, Range{c.start, c.end})
		}
	}
	return rs
}

// claim returns the spans of text that partition turns into special tokens
// (rank >= 0) or drops as whitespace they strip (rank -1), sorted by start.
func (t *Tokenizer) claim(text string, parseSpecial bool, plain []Range) []span {
	if text == "" {
		return nil
	}
	first := &t.specialTrie.first
	// Collect every occurrence of every eligible special token.
	var occ []span
	for i := 0; i < len(text); i++ {
		if !first[text[i]] {
			continue
		}
		n := 0
		for j := i; j < len(text); j++ {
			nx, ok := t.specialTrie.nodes[n].next[text[j]]
			if !ok {
				break
			}
			n = int(nx)
			if rank := int(t.specialTrie.nodes[n].value); rank >= 0 {
				id := t.specials[rank]
				if t.attrs[id]&(attrControl|attrUnknown) == 0 || (parseSpecial && !overlaps(plain, i, j+1)) {
					occ = append(occ, span{i, j + 1, rank})
				}
			}
		}
	}
	if len(occ) == 0 {
		return nil
	}
	sort.Slice(occ, func(a, b int) bool {
		if occ[a].rank != occ[b].rank {
			return occ[a].rank < occ[b].rank
		}
		return occ[a].start < occ[b].start
	})
	// claimed is kept sorted by start; spans never overlap.
	var claimed []span
	free := func(s, e int) bool {
		k := sort.Search(len(claimed), func(k int) bool { return claimed[k].end > s })
		return k == len(claimed) || claimed[k].start >= e
	}
	insert := func(sp span) {
		k := sort.Search(len(claimed), func(k int) bool { return claimed[k].start > sp.start })
		claimed = append(claimed, span{})
		copy(claimed[k+1:], claimed[k:])
		claimed[k] = sp
	}
	// bounds returns the free region around [s, e): from the end of the
	// previous claimed span to the start of the next.
	bounds := func(s, e int) (int, int) {
		k := sort.Search(len(claimed), func(k int) bool { return claimed[k].start >= e })
		lo, hi := 0, len(text)
		if k > 0 {
			lo = claimed[k-1].end
		}
		if k < len(claimed) {
			hi = claimed[k].start
		}
		return lo, hi
	}
	for _, o := range occ {
		if !free(o.start, o.end) {
			continue
		}
		a := t.attrs[t.specials[o.rank]]
		lo, hi := bounds(o.start, o.end)
		insert(o)
		if a&attrLStrip != 0 {
			s := o.start
			for s > lo && isCSpace(text[s-1]) {
				s--
			}
			if s < o.start {
				insert(span{s, o.start, -1})
			}
		}
		if a&attrRStrip != 0 {
			e := o.end
			for e < hi && isCSpace(text[e]) {
				e++
			}
			if e > o.end {
				insert(span{o.end, e, -1})
			}
		}
	}
	return claimed
}

// isCSpace is C's isspace in the "C" locale, which llama.cpp uses to strip
// around special tokens.
func isCSpace(c byte) bool {
	return c == ' ' || (c >= '\t' && c <= '\r')
}
