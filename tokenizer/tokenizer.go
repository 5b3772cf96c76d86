package tokenizer

import (
	"slices"
	"sync"
)

// Tokenizer encodes text to token ids and decodes ids to text for one
// vocabulary. Build one with FromGGUF.
type Tokenizer struct {
	kind   kind
	pre    *preTokenizer // byte-level BPE only
	tokens []string      // raw vocabulary strings
	scores []float32
	attrs  []attr
	toID   map[string]int32
	roles  roles
	eog    map[int]bool

	addBOS, addEOS, addSpacePrefix bool

	specials    []int32 // control, user-defined and unknown tokens, longest first
	specialTrie *trie

	pieces [][]byte // token_to_piece with special=true, per id

	bpe        *bpeModel  // byte-level BPE only
	byteTokens [256]int32 // SentencePiece byte fallback, -1 for none

	bufs sync.Pool // *encodeBuffers
}

// encodeBuffers is scratch space reused across Encode calls.
type encodeBuffers struct {
	frags []fragment
	ends  []int
	syms  []symbol
	heap  []pairItem
	text  []byte
}

// VocabSize returns the number of tokens.
func (t *Tokenizer) VocabSize() int { return len(t.tokens) }

// BOS returns the beginning-of-sequence token id, or -1.
func (t *Tokenizer) BOS() int { return t.roles.bos }

// EOS returns the end-of-sequence token id, or -1.
func (t *Tokenizer) EOS() int { return t.roles.eos }

// AddBOS reports whether Encode with addSpecial prepends BOS
// (tokenizer.ggml.add_bos_token, defaulting as llama.cpp does: true for
// SentencePiece and Llama-3-style vocabularies).
func (t *Tokenizer) AddBOS() bool { return t.addBOS }

// AddEOS reports whether Encode with addSpecial appends EOS
// (tokenizer.ggml.add_eos_token, default false).
func (t *Tokenizer) AddEOS() bool { return t.addEOS }

// IsEOG reports whether id ends generation: EOS, EOT, EOM, the FIM
// pad/repo/separator tokens, and tokens such as <|im_end|>, <|eot_id|> and
// <|endoftext|> recognised by their text, as llama.cpp decides.
func (t *Tokenizer) IsEOG(id int) bool { return t.eog[id] }

// TokenText returns the raw vocabulary string of id ("" when out of range).
func (t *Tokenizer) TokenText(id int) string {
	if id < 0 || id >= len(t.tokens) {
		return ""
	}
	return t.tokens[id]
}

// TokenType returns the type of id, as llama.cpp settles it after loading
// (for example <|im_end|> is a control token even where the file says
// otherwise). It is TypeUndefined for ids out of range.
func (t *Tokenizer) TokenType(id int) TokenType {
	if id < 0 || id >= len(t.attrs) {
		return TypeUndefined
	}
	a := t.attrs[id]
	switch {
	case a&attrUnused != 0:
		return TypeUnused
	case a&attrControl != 0:
		return TypeControl
	case a&attrUserDefined != 0:
		return TypeUserDefined
	case a&attrUnknown != 0:
		return TypeUnknown
	case a&attrByte != 0:
		return TypeByte
	case a&attrNormal != 0:
		return TypeNormal
	}
	return TypeUndefined
}

// SpecialID returns the id of the control, user-defined or unknown token
// whose text is exactly text, such as "<|im_end|>" or "<think>".
func (t *Tokenizer) SpecialID(text string) (int, bool) {
	id, ok := t.toID[text]
	if !ok || t.attrs[id]&(attrControl|attrUserDefined|attrUnknown) == 0 {
		return -1, false
	}
	return int(id), true
}

// Encode returns the token ids of text. With addSpecial, BOS and EOS are
// added where the vocabulary asks for them (AddBOS, AddEOS). With
// parseSpecial, control tokens written in the text (such as
// "<|im_start|>") become their ids; without it they are tokenized as plain
// text, which is what text from a user must get. User-defined tokens are
// matched either way, as in llama.cpp and Hugging Face.
func (t *Tokenizer) Encode(text string, addSpecial, parseSpecial bool) ([]int, error) {
	return t.encode(text, addSpecial, parseSpecial, nil)
}

// EncodeTemplated tokenizes text rendered from a chat template: control
// tokens written in it become their ids, as with parseSpecial, except inside
// the ranges in plain, which hold text a user supplied and are tokenized as
// plain text. Text between the ranges and the template's own markers is
// tokenized together, exactly as Encode would, so the only difference from
// Encode(text, addSpecial, true) is that users cannot forge control tokens.
func (t *Tokenizer) EncodeTemplated(text string, addSpecial bool, plain []Range) ([]int, error) {
	plain = slices.Clone(plain)
	slices.SortFunc(plain, func(a, b Range) int { return a.Start - b.Start })
	return t.encode(text, addSpecial, true, plain)
}

func (t *Tokenizer) encode(text string, addSpecial, parseSpecial bool, plain []Range) ([]int, error) {
	b, _ := t.bufs.Get().(*encodeBuffers)
	if b == nil {
		b = new(encodeBuffers)
	}
	defer func() {
		clear(b.frags) // do not keep the caller's text alive
		t.bufs.Put(b)
	}()
	b.frags = t.partition(text, parseSpecial, plain, b.frags[:0])

	out := make([]int, 0, len(text)/3+2)
	if addSpecial && t.addBOS {
		out = append(out, t.roles.bos)
	}
	var err error
	switch t.kind {
	case kindSPM:
		prevSpecial := true // a space is prefixed to text at the start and after a special token
		for _, f := range b.frags {
			if f.token >= 0 {
				out = append(out, f.token)
				prevSpecial = true
				continue
			}
			if out, err = t.encodeSPM(b, f.text, t.addSpacePrefix && prevSpecial, out); err != nil {
				return nil, err
			}
			prevSpecial = false
		}
	case kindBPE:
		for _, f := range b.frags {
			if f.token >= 0 {
				out = append(out, f.token)
				continue
			}
			if out, err = t.encodeBPE(b, f.text, out); err != nil {
				return nil, err
			}
		}
	}
	if addSpecial && t.addEOS {
		out = append(out, t.roles.eos)
	}
	return out, nil
}
