package tokenizer

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// buildPieces renders every token once, as llama.cpp's token_to_piece with
// special=true: control, unknown and user-defined tokens as their text,
// normal tokens with "▁" as a space (SentencePiece) or mapped back from the
// byte alphabet (byte-level BPE), byte tokens as their byte, and other
// types (unused, undefined) as nothing.
func (t *Tokenizer) buildPieces() {
	t.pieces = make([][]byte, len(t.tokens))
	for id, text := range t.tokens {
		a := t.attrs[id]
		switch {
		case a&(attrSpecial|attrUserDefined) != 0:
			t.pieces[id] = []byte(text)
		case a&attrNormal != 0:
			if t.kind == kindSPM {
				t.pieces[id] = []byte(strings.ReplaceAll(text, "\u2581", " "))
			} else {
				t.pieces[id] = byteDecode(text)
			}
		case a&attrByte != 0:
			if c, ok := parseByteToken(text); ok {
				t.pieces[id] = []byte{c}
			}
		}
	}
}

// byteDecode maps a token spelled in the GPT-2 byte alphabet back to its
// bytes. A character outside the alphabet is rendered the way llama.cpp
// renders it, as "[UNK_BYTE_0x..." followed by the token text and "]".
func byteDecode(text string) []byte {
	out := make([]byte, 0, len(text))
	for _, r := range text {
		if c, ok := charBytes[r]; ok {
			out = append(out, c)
			continue
		}
		out = append(out, "[UNK_BYTE_0x"...)
		var enc [utf8.UTFMax]byte
		for _, c := range enc[:utf8.EncodeRune(enc[:], r)] {
			out = fmt.Appendf(out, "%02x", c)
		}
		out = append(out, text...)
		out = append(out, ']')
	}
	return out
}

// parseByteToken parses "<0xXX>".
func parseByteToken(text string) (byte, bool) {
	if len(text) != 6 || !strings.HasPrefix(text, "<0x") || text[5] != '>' {
		return 0, false
	}
	v, err := strconv.ParseUint(text[3:5], 16, 8)
	return byte(v), err == nil
}

// Piece returns the bytes id contributes to decoded text: a control token
// renders as its text (for example "<|im_end|>"). It returns nil for ids
// out of range. The slice must not be modified.
func (t *Tokenizer) Piece(id int) []byte {
	if id < 0 || id >= len(t.pieces) {
		return nil
	}
	return t.pieces[id]
}

// DecodeOptions adjusts decoding.
type DecodeOptions struct {
	// SkipSpecial renders control and unknown tokens as nothing, like
	// llama.cpp's token_to_piece with special=false. User-defined tokens
	// (such as <think>) still render.
	SkipSpecial bool
}

// piece returns id's bytes under opts.
func (t *Tokenizer) piece(id int, opts DecodeOptions) []byte {
	if opts.SkipSpecial && id >= 0 && id < len(t.attrs) && t.attrs[id]&attrSpecial != 0 {
		return nil
	}
	return t.Piece(id)
}

// Decode returns the text of ids: the concatenation of their pieces (see
// Piece). Nothing is stripped or cleaned up, so Decode of a prefix is a
// prefix of Decode, and streamed output matches it exactly. The result may
// hold invalid UTF-8 where ids cut a character.
func (t *Tokenizer) Decode(ids []int) string {
	return t.DecodeWith(ids, DecodeOptions{})
}

// DecodeWith is Decode with options.
func (t *Tokenizer) DecodeWith(ids []int, opts DecodeOptions) string {
	var sb strings.Builder
	for _, id := range ids {
		sb.Write(t.piece(id, opts))
	}
	return sb.String()
}

// StreamDecoder turns a stream of token ids into text, holding back the
// bytes of a UTF-8 character until the token that completes it arrives.
// The concatenation of everything Push and Flush return equals the Decode
// of all ids pushed. It is not safe for concurrent use.
type StreamDecoder struct {
	t       *Tokenizer
	opts    DecodeOptions
	pending []byte
}

// NewStreamDecoder returns a decoder for a new stream.
func (t *Tokenizer) NewStreamDecoder() *StreamDecoder {
	return &StreamDecoder{t: t}
}

// NewStreamDecoderWith returns a decoder for a new stream with options.
func (t *Tokenizer) NewStreamDecoderWith(opts DecodeOptions) *StreamDecoder {
	return &StreamDecoder{t: t, opts: opts}
}

// Push adds one token and returns the text that is now complete.
func (d *StreamDecoder) Push(id int) string {
	d.pending = append(d.pending, d.t.piece(id, d.opts)...)
	n := completeLen(d.pending)
	if n == 0 {
		return ""
	}
	s := string(d.pending[:n])
	d.pending = append(d.pending[:0], d.pending[n:]...)
	return s
}

// Flush returns whatever is held back (an incomplete character, as raw
// bytes) and resets the decoder.
func (d *StreamDecoder) Flush() string {
	s := string(d.pending)
	d.pending = d.pending[:0]
	return s
}

// completeLen returns the length of the longest prefix of p that does not
// end inside a UTF-8 character that later bytes could still complete.
// Invalid bytes count as complete: holding them would not make them valid.
func completeLen(p []byte) int {
	for i := len(p) - 1; i >= 0 && i >= len(p)-utf8.UTFMax; i-- {
		if p[i]&0xC0 == 0x80 {
			continue // continuation byte: keep looking for the lead
		}
		if !utf8.FullRune(p[i:]) {
			return i
		}
		break
	}
	return len(p)
}
