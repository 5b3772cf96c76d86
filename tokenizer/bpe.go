package tokenizer

import (
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// bpeModel holds the merge table of a byte-level BPE vocabulary. Every
// string taking part in a merge has a string id: vocabulary tokens keep
// their token id, other strings get ids from len(tokens) on.
type bpeModel struct {
	merges  map[uint64]bpeMerge // (left id, right id) -> merge
	extra   map[string]int32    // ids of merge strings that are not tokens
	byteSym [256]int32          // string id of each byte's character, or -1
	nVocab  int32

	mu    sync.RWMutex
	cache map[string][]int32 // word -> ids
}

type bpeMerge struct {
	rank   int32
	result int32 // string id of left+right
}

// Bounds of the per-word cache: words up to maxCachedWord bytes, and at most
// maxCacheEntries of them before the cache starts over.
const (
	maxCachedWord   = 64
	maxCacheEntries = 1 << 16
)

// byteChars maps each byte to its character in the GPT-2 byte alphabet:
// printable Latin-1 bytes stand for themselves, the others for U+0100 on.
var byteChars = func() (m [256]string) {
	n := 0
	for b := 0; b < 256; b++ {
		if (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF) {
			m[b] = string(rune(b))
		} else {
			m[b] = string(rune(256 + n))
			n++
		}
	}
	return m
}()

// charBytes is the inverse of byteChars.
var charBytes = func() map[rune]byte {
	m := make(map[rune]byte, 256)
	for b, s := range byteChars {
		r, _ := utf8.DecodeRuneInString(s)
		m[r] = byte(b)
	}
	return m
}()

func mergeKey(l, r int32) uint64 { return uint64(uint32(l))<<32 | uint64(uint32(r)) }

// buildMerges parses tokenizer.ggml.merges ("left right", by rank).
func (t *Tokenizer) buildMerges(merges []string) error {
	if len(merges) == 0 {
		return fmt.Errorf("tokenizer: byte-level BPE vocabulary without merges (tokenizer.ggml.merges)")
	}
	m := &bpeModel{
		merges: make(map[uint64]bpeMerge, len(merges)),
		extra:  make(map[string]int32),
		nVocab: int32(len(t.tokens)),
		cache:  make(map[string][]int32),
	}
	strID := func(s string) int32 {
		if id, ok := t.toID[s]; ok {
			return id
		}
		if id, ok := m.extra[s]; ok {
			return id
		}
		id := m.nVocab + int32(len(m.extra))
		m.extra[s] = id
		return id
	}
	for rank, line := range merges {
		// llama.cpp splits at the first space after the first byte, so a
		// merge can involve a token that starts with a space.
		sp := -1
		if len(line) > 1 {
			sp = strings.IndexByte(line[1:], ' ')
		}
		if sp < 0 {
			continue
		}
		left, right := line[:sp+1], line[sp+2:]
		key := mergeKey(strID(left), strID(right))
		if _, dup := m.merges[key]; dup {
			continue // the first (lowest) rank wins
		}
		m.merges[key] = bpeMerge{rank: int32(rank), result: strID(left + right)}
	}
	for b := range m.byteSym {
		m.byteSym[b] = -1
		if id, ok := t.toID[byteChars[b]]; ok {
			m.byteSym[b] = id
		} else if id, ok := m.extra[byteChars[b]]; ok {
			m.byteSym[b] = id
		}
	}
	t.bpe = m
	return nil
}

// encodeBPE appends the byte-level BPE tokenization of text to out.
func (t *Tokenizer) encodeBPE(b *encodeBuffers, text string, out []int) ([]int, error) {
	if t.pre.nfc && !norm.NFC.IsNormalString(text) {
		text = norm.NFC.String(text)
	}
	ends, err := t.pre.split(text, b.ends[:0])
	b.ends = ends
	if err != nil {
		return nil, err
	}
	start := 0
	for _, end := range ends {
		out = t.encodeWord(b, text[start:end], out)
		start = end
	}
	return out, nil
}

// encodeWord appends the tokens of one pre-tokenized word.
func (t *Tokenizer) encodeWord(b *encodeBuffers, word string, out []int) []int {
	m := t.bpe
	cacheable := len(word) <= maxCachedWord
	if cacheable {
		m.mu.RLock()
		ids, ok := m.cache[word]
		m.mu.RUnlock()
		if ok {
			for _, id := range ids {
				out = append(out, int(id))
			}
			return out
		}
	}
	n0 := len(out)
	out = t.mergeWord(b, word, out)
	if cacheable {
		ids := make([]int32, len(out)-n0)
		for i, id := range out[n0:] {
			ids[i] = int32(id)
		}
		m.mu.Lock()
		if len(m.cache) >= maxCacheEntries {
			clear(m.cache)
		}
		m.cache[strings.Clone(word)] = ids
		m.mu.Unlock()
	}
	return out
}

// mergeWord runs the merges over the bytes of word, as llama.cpp's
// llm_tokenizer_bpe_session does over its byte-alphabet characters (one
// per byte): the lowest-ranked adjacent pair merges first, leftmost on
// ties.
func (t *Tokenizer) mergeWord(b *encodeBuffers, word string, out []int) []int {
	m := t.bpe
	if t.pre.ignoreMerges {
		enc := b.text[:0]
		for i := 0; i < len(word); i++ {
			enc = append(enc, byteChars[word[i]]...)
		}
		b.text = enc
		if id, ok := t.toID[string(enc)]; ok {
			return append(out, int(id))
		}
	}
	syms := b.syms[:0]
	for i := 0; i < len(word); i++ {
		syms = append(syms, symbol{start: int32(i), n: 1, prev: int32(i) - 1, next: int32(i) + 1, id: m.byteSym[word[i]]})
	}
	if len(syms) == 0 {
		return out
	}
	syms[len(syms)-1].next = -1
	b.syms = syms
	h := pairHeap(b.heap[:0])
	add := func(left, right int32) {
		l, r := &syms[left], &syms[right]
		if l.id < 0 || r.id < 0 {
			return
		}
		if mg, ok := m.merges[mergeKey(l.id, r.id)]; ok {
			h.push(pairItem{prio: float32(mg.rank), left: left, right: right, size: l.n + r.n, result: mg.result})
		}
	}
	for i := int32(1); i < int32(len(syms)); i++ {
		add(i-1, i)
	}
	mergeSymbols(syms, &h, add)
	b.heap = h
	for i := int32(0); i != -1; i = syms[i].next {
		s := &syms[i]
		if s.id >= 0 && s.id < m.nVocab {
			out = append(out, int(s.id))
			continue
		}
		// The run is not a token. llama.cpp then looks up each byte of its
		// byte-alphabet spelling as a one-byte token and drops the bytes
		// that have none.
		for k := s.start; k < s.start+s.n; k++ {
			enc := byteChars[word[k]]
			for j := 0; j < len(enc); j++ {
				if id, ok := t.toID[enc[j:j+1]]; ok {
					out = append(out, int(id))
				}
			}
		}
	}
	return out
}
