package grammar

import (
	"bytes"
	"fmt"
	"slices"
)

// TokenKind says how a grammar may use a token.
type TokenKind uint8

const (
	// TokenText tokens are matched by their bytes.
	TokenText TokenKind = iota
	// TokenEOG tokens end generation: a matcher allows them only where the
	// grammar is complete.
	TokenEOG
	// TokenSpecial tokens (control tokens such as <|im_start|>) never match
	// as text, only through a <token> terminal of a GBNF grammar.
	TokenSpecial
)

// Vocab is a model's vocabulary as the matcher sees it: each token's bytes
// (as the detokenizer renders them) and kind, plus a byte trie over the
// text tokens. Build one per tokenizer and keep it: construction sorts the
// whole vocabulary, and a Grammar keeps its tables per *Vocab. Safe for
// concurrent use.
type Vocab struct {
	pieces [][]byte
	kinds  []TokenKind
	eog    []int32
	byText map[string]int32 // piece -> id, for <token> terminals; special tokens win
	trie   trie
}

// NewVocab builds a Vocab from each token's bytes and kind (index = token
// id). Text tokens with no bytes are never allowed (they would let a
// model stall without advancing the grammar).
func NewVocab(pieces [][]byte, kinds []TokenKind) (*Vocab, error) {
	if len(pieces) != len(kinds) {
		return nil, fmt.Errorf("grammar: %d token pieces but %d kinds", len(pieces), len(kinds))
	}
	if len(pieces) >= 1<<31-1 {
		return nil, fmt.Errorf("grammar: vocabulary of %d tokens is too large", len(pieces))
	}
	v := &Vocab{pieces: pieces, kinds: kinds, byText: map[string]int32{}}
	var text []int32
	for id, k := range kinds {
		switch k {
		case TokenText:
			if len(pieces[id]) > 0 {
				text = append(text, int32(id))
			}
		case TokenEOG:
			v.eog = append(v.eog, int32(id))
		case TokenSpecial:
		default:
			return nil, fmt.Errorf("grammar: token %d has unknown kind %d", id, k)
		}
		p := string(pieces[id])
		if prev, ok := v.byText[p]; !ok || (kinds[prev] == TokenText && k != TokenText) {
			v.byText[p] = int32(id)
		}
	}
	v.trie = buildTrie(pieces, text)
	return v, nil
}

// Size returns the number of tokens.
func (v *Vocab) Size() int { return len(v.pieces) }

// MaskWords returns the length in uint64 words of a mask over v, one bit
// per token id (bit id%64 of word id/64).
func (v *Vocab) MaskWords() int { return (len(v.pieces) + 63) / 64 }

// trie is a byte trie over the text tokens in preorder: node 0 is the
// root (the empty prefix), each node's subtree is the index range
// [i, end[i]), and a node's children follow it in byte order.
type trie struct {
	char   []byte   // the byte leading to the node
	depth  []uint16 // its length
	end    []int32
	first  []int32 // tokens ending at node i: ids[first[i]:first[i+1]]
	ids    []int32
	maxLen int
}

func buildTrie(pieces [][]byte, text []int32) trie {
	sorted := slices.Clone(text)
	slices.SortStableFunc(sorted, func(a, b int32) int { return bytes.Compare(pieces[a], pieces[b]) })
	var t trie
	t.char = append(t.char, 0)
	t.depth = append(t.depth, 0)
	t.first = append(t.first, 0)
	path := []int32{0} // node at each depth of the current token
	for _, id := range sorted {
		p := pieces[id]
		if len(p) > 1<<16-1 {
			continue // cannot be a piece of a real vocabulary
		}
		t.maxLen = max(t.maxLen, len(p))
		// Shared prefix with the previous token: nodes already on path.
		d := 0
		for d < len(p) && d+1 < len(path) && t.char[path[d+1]] == p[d] {
			d++
		}
		path = path[:d+1]
		for ; d < len(p); d++ {
			t.char = append(t.char, p[d])
			t.depth = append(t.depth, uint16(d+1))
			t.first = append(t.first, int32(len(t.ids)))
			path = append(path, int32(len(t.char)-1))
		}
		// The token ends at the last node of path; its ids are contiguous
		// because nodes get ids in order and equal pieces are adjacent.
		t.ids = append(t.ids, id)
	}
	n := len(t.char)
	t.first = append(t.first, int32(len(t.ids)))
	// first[i] was set when node i was created, before its token ids were
	// appended; the ids of node i are those appended until node i+1.
	t.end = make([]int32, n)
	stack := []int32{}
	for i := range n {
		for len(stack) > 0 && t.depth[stack[len(stack)-1]] >= t.depth[i] {
			t.end[stack[len(stack)-1]] = int32(i)
			stack = stack[:len(stack)-1]
		}
		stack = append(stack, int32(i))
	}
	for _, s := range stack {
		t.end[s] = int32(n)
	}
	return t
}

// tokens returns the ids of the tokens whose bytes are node i's prefix.
func (t *trie) tokens(i int32) []int32 { return t.ids[t.first[i]:t.first[i+1]] }
