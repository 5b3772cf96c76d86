package tokenizer

// symbol is a run of bytes of the text being merged, linked to its live
// neighbours.
type symbol struct {
	start, n   int32 // byte range in the text; n == 0 once merged away
	prev, next int32 // neighbour indices, -1 at the ends
	id         int32 // BPE: string id of the run (-1: unknown)
}

// pairItem is a candidate merge of two adjacent symbols. Lower prio merges
// first (BPE: merge rank; SentencePiece: minus the score), then the
// leftmost, as in llama.cpp.
type pairItem struct {
	prio        float32
	left, right int32
	size        int32 // bytes of the merged run when the pair was queued
	result      int32 // id of the merged run
}

func (a *pairItem) less(b *pairItem) bool {
	return a.prio < b.prio || (a.prio == b.prio && a.left < b.left)
}

// pairHeap is a binary min-heap of pairItem.
type pairHeap []pairItem

func (h *pairHeap) push(it pairItem) {
	*h = append(*h, it)
	s := *h
	i := len(s) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !s[i].less(&s[p]) {
			break
		}
		s[i], s[p] = s[p], s[i]
		i = p
	}
}

func (h *pairHeap) pop() pairItem {
	s := *h
	top := s[0]
	last := len(s) - 1
	s[0] = s[last]
	s = s[:last]
	i := 0
	for {
		l := 2*i + 1
		if l >= len(s) {
			break
		}
		m := l
		if r := l + 1; r < len(s) && s[r].less(&s[l]) {
			m = r
		}
		if !s[m].less(&s[i]) {
			break
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
	*h = s
	return top
}

// initSymbols appends one symbol per UTF-8 character of text (judged by
// lead byte, as llama.cpp does) to syms[:0]; byteLevel makes one symbol
// per byte instead.
func initSymbols(syms []symbol, text []byte, byteLevel bool) []symbol {
	syms = syms[:0]
	for off := 0; off < len(text); {
		n := 1
		if !byteLevel {
			n = min(utf8Len(text[off]), len(text)-off)
		}
		i := int32(len(syms))
		syms = append(syms, symbol{start: int32(off), n: int32(n), prev: i - 1, next: i + 1, id: -1})
		off += n
	}
	if len(syms) > 0 {
		syms[len(syms)-1].next = -1
	}
	return syms
}

// mergeSymbols runs the queue: the best valid pair merges, and the pairs it
// forms with its neighbours are offered through add.
func mergeSymbols(syms []symbol, h *pairHeap, add func(left, right int32)) {
	for len(*h) > 0 {
		it := h.pop()
		l, r := &syms[it.left], &syms[it.right]
		if l.n == 0 || r.n == 0 || l.n+r.n != it.size {
			continue // stale: one side has changed since it was queued
		}
		l.n += r.n
		r.n = 0
		l.id = it.result
		l.next = r.next
		if r.next >= 0 {
			syms[r.next].prev = it.left
		}
		if l.prev >= 0 {
			add(l.prev, it.left)
		}
		if l.next >= 0 {
			add(it.left, l.next)
		}
	}
}
