package tokenizer

import "fmt"

// encodeSPM appends the SentencePiece tokenization of text to out, after
// llama.cpp's llm_tokenizer_spm: spaces become "▁" (with one prefixed when
// prefix is set), the text is cut into characters, and the adjacent pair
// whose concatenation is the highest-scoring token merges first (leftmost
// on ties) until no pair forms a token. Characters left without a token
// become byte tokens.
func (t *Tokenizer) encodeSPM(b *encodeBuffers, text string, prefix bool, out []int) ([]int, error) {
	const space = "\u2581"
	buf := b.text[:0]
	if prefix {
		buf = append(buf, space...)
	}
	for i := 0; i < len(text); i++ {
		if text[i] == ' ' {
			buf = append(buf, space...)
		} else {
			buf = append(buf, text[i])
		}
	}
	b.text = buf
	if len(buf) == 0 {
		return out, nil
	}
	syms := initSymbols(b.syms, buf, false)
	b.syms = syms
	h := pairHeap(b.heap[:0])
	add := func(left, right int32) {
		l, r := &syms[left], &syms[right]
		id, ok := t.toID[string(buf[l.start:l.start+l.n+r.n])]
		if !ok {
			return
		}
		h.push(pairItem{prio: -t.scores[id], left: left, right: right, size: l.n + r.n, result: id})
	}
	for i := int32(1); i < int32(len(syms)); i++ {
		add(i-1, i)
	}
	mergeSymbols(syms, &h, add)
	b.heap = h
	for i := int32(0); i != -1; i = syms[i].next {
		s := &syms[i]
		piece := buf[s.start : s.start+s.n]
		if id, ok := t.toID[string(piece)]; ok {
			out = append(out, int(id))
			continue
		}
		for _, c := range piece {
			id, err := t.spmByteToken(c)
			if err != nil {
				return nil, err
			}
			out = append(out, id)
		}
	}
	return out, nil
}

// buildByteTokens finds the token of each byte for SentencePiece byte
// fallback: <0xXX>, else the one-byte token, else the unknown token, else
// none (-1).
func (t *Tokenizer) buildByteTokens() {
	for c := range t.byteTokens {
		t.byteTokens[c] = int32(t.roles.unk)
		if id, ok := t.toID[fmt.Sprintf("<0x%02X>", c)]; ok {
			t.byteTokens[c] = id
		} else if id, ok := t.toID[string([]byte{byte(c)})]; ok {
			t.byteTokens[c] = id
		}
	}
}

// spmByteToken returns the byte-fallback token of c.
func (t *Tokenizer) spmByteToken(c byte) (int, error) {
	if id := t.byteTokens[c]; id >= 0 {
		return int(id), nil
	}
	return 0, fmt.Errorf("tokenizer: no token for byte 0x%02X (no <0x%02X> token and no unknown token)", c, c)
}
