package tokenizer

import (
	"fmt"
	"sort"
	"strings"
)

// TokenType is a token's type as stored in tokenizer.ggml.token_type.
type TokenType int32

// Token types, with GGUF's values.
const (
	TypeUndefined   TokenType = 0
	TypeNormal      TokenType = 1
	TypeUnknown     TokenType = 2
	TypeControl     TokenType = 3
	TypeUserDefined TokenType = 4
	TypeUnused      TokenType = 5
	TypeByte        TokenType = 6
)

// attr is llama.cpp's per-token attribute bit set, derived from the token
// type and adjusted by the loader's fix-ups.
type attr uint16

const (
	attrUnknown attr = 1 << iota
	attrUnused
	attrNormal
	attrControl
	attrUserDefined
	attrByte
	attrNormalized
	attrLStrip
	attrRStrip

	attrSpecial = attrUnknown | attrControl // hidden unless special rendering is asked for
)

func attrOf(t TokenType) attr {
	switch t {
	case TypeUnknown:
		return attrUnknown
	case TypeUnused:
		return attrUnused
	case TypeNormal:
		return attrNormal
	case TypeControl:
		return attrControl
	case TypeUserDefined:
		return attrUserDefined
	case TypeByte:
		return attrByte
	}
	return 0
}

// vocabSpec is everything the tokenizer reads from tokenizer.ggml.* keys.
// FromGGUF fills it from a file; tests build it by hand.
type vocabSpec struct {
	model  string    // tokenizer.ggml.model: "llama" or "gpt2"
	pre    string    // tokenizer.ggml.pre
	tokens []string  // tokenizer.ggml.tokens
	scores []float32 // tokenizer.ggml.scores; nil means all 0
	types  []int32   // tokenizer.ggml.token_type; nil means all normal
	merges []string  // tokenizer.ggml.merges, "left right" by rank
	// ids holds the special token ids present in the file, keyed by the
	// suffix after "tokenizer.ggml." (e.g. "bos_token_id").
	ids map[string]int64
	// flags holds the booleans present in the file, keyed the same way
	// ("add_bos_token", "add_eos_token", "add_space_prefix").
	flags map[string]bool
	name  string // general.name: llama.cpp keys a Phi-3 fix-up on it
}

// kind is the tokenizer algorithm.
type kind int

const (
	kindSPM kind = iota + 1
	kindBPE
)

// Special token id keys in the order llama.cpp applies them; later keys
// win where two name the same role (the deprecated FIM names).
var specialKeys = []string{
	"bos_token_id", "eos_token_id", "eot_token_id", "eom_token_id", "unknown_token_id",
	"seperator_token_id", "padding_token_id", "mask_token_id",
	"fim_pre_token_id", "fim_suf_token_id", "fim_mid_token_id", "fim_pad_token_id", "fim_rep_token_id", "fim_sep_token_id",
	"prefix_token_id", "suffix_token_id", "middle_token_id",
}

// Token texts llama.cpp recognises when the file names no id for a role.
var (
	eotTexts = []string{"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
		"<|end_of_text|>", "<EOT>", "_<EOT>", "[EOT]", "<｜end▁of▁sentence｜>", "<end_of_utterance>"}
	eomTexts    = []string{"<|eom_id|>"}
	fimPreTexts = []string{"<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>", "▁<PRE>", "<|code_prefix|>", "<|prefix|>"}
	fimSufTexts = []string{"<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>", "▁<SUF>", "<|code_suffix|>", "<|suffix|>"}
	fimMidTexts = []string{"<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>", "▁<MID>", "<|code_middle|>", "<|middle|>"}
	fimPadTexts = []string{"<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"}
	fimRepTexts = []string{"<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"}
	fimSepTexts = []string{"<|file_sep|>"}
	// eogTexts end generation whatever their role.
	eogTexts = []string{"<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>",
		"<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]",
		"<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>", "<｜end▁of▁sentence｜>", "[e~["}
)

// roles holds the special token ids of a vocabulary; -1 means none.
type roles struct {
	bos, eos, eot, eom, unk, sep, pad, mask        int
	fimPre, fimSuf, fimMid, fimPad, fimRep, fimSep int
}

func (r *roles) byKey(key string) *int {
	switch key {
	case "bos_token_id":
		return &r.bos
	case "eos_token_id":
		return &r.eos
	case "eot_token_id":
		return &r.eot
	case "eom_token_id":
		return &r.eom
	case "unknown_token_id":
		return &r.unk
	case "seperator_token_id":
		return &r.sep
	case "padding_token_id":
		return &r.pad
	case "mask_token_id":
		return &r.mask
	case "fim_pre_token_id", "prefix_token_id":
		return &r.fimPre
	case "fim_suf_token_id", "suffix_token_id":
		return &r.fimSuf
	case "fim_mid_token_id", "middle_token_id":
		return &r.fimMid
	case "fim_pad_token_id":
		return &r.fimPad
	case "fim_rep_token_id":
		return &r.fimRep
	case "fim_sep_token_id":
		return &r.fimSep
	}
	return nil
}

// newFromVocab builds a Tokenizer from a vocabulary, applying llama.cpp's
// defaults for the model type and its loader fix-ups.
func newFromVocab(v vocabSpec) (*Tokenizer, error) {
	n := len(v.tokens)
	if n == 0 {
		return nil, fmt.Errorf("tokenizer: empty vocabulary (tokenizer.ggml.tokens)")
	}
	if v.scores != nil && len(v.scores) < n {
		return nil, fmt.Errorf("tokenizer: %d scores for %d tokens (tokenizer.ggml.scores)", len(v.scores), n)
	}
	if v.types != nil && len(v.types) < n {
		return nil, fmt.Errorf("tokenizer: %d token types for %d tokens (tokenizer.ggml.token_type)", len(v.types), n)
	}
	t := &Tokenizer{
		tokens: make([]string, n),
		scores: make([]float32, n),
		attrs:  make([]attr, n),
		toID:   make(map[string]int32, n),
	}
	r := roles{-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1}
	switch v.model {
	case "llama":
		t.kind = kindSPM
		r.bos, r.eos, r.unk = 1, 2, 0
		t.addBOS, t.addSpacePrefix = true, true
	case "gpt2":
		t.kind = kindBPE
		pre, err := lookupPre(v.pre)
		if err != nil {
			return nil, err
		}
		t.pre = pre
		r.bos, r.eos = 11, 11
		if pre.noBOS {
			r.bos = -1
		}
		t.addBOS = pre.addBOS
	case "":
		return nil, fmt.Errorf("tokenizer: no tokenizer model (tokenizer.ggml.model)")
	default:
		return nil, fmt.Errorf("tokenizer: unsupported tokenizer model %q (tokenizer.ggml.model); supported: llama, gpt2", v.model)
	}
	if b, ok := v.flags["add_space_prefix"]; ok {
		t.addSpacePrefix = b
	}

	for i, s := range v.tokens {
		if s == "" {
			s = fmt.Sprintf("[EMPTY_%d]", i)
		}
		if j, dup := t.toID[s]; dup {
			return nil, fmt.Errorf("tokenizer: duplicate token %q at ids %d and %d", s, j, i)
		}
		t.toID[s] = int32(i)
		t.tokens[i] = s
		if v.scores != nil {
			t.scores[i] = v.scores[i]
		}
		t.attrs[i] = attrNormal
		if v.types != nil {
			t.attrs[i] = attrOf(TokenType(v.types[i]))
		}
	}

	// Default ids outside the vocabulary are dropped; ids from the file
	// outside it are ignored, keeping the default.
	for _, key := range specialKeys {
		p := r.byKey(key)
		if *p >= n {
			*p = -1
		}
		if id, ok := v.ids[key]; ok && id >= 0 && id < int64(n) {
			*p = int(id)
		}
	}
	if b, ok := v.flags["add_bos_token"]; ok {
		t.addBOS = b
	}
	if b, ok := v.flags["add_eos_token"]; ok {
		t.addEOS = b
	}
	if t.addBOS && r.bos < 0 {
		return nil, fmt.Errorf("tokenizer: tokenizer.ggml.add_bos_token is true, but tokenizer.ggml.bos_token_id is not set")
	}
	if t.addEOS && r.eos < 0 {
		return nil, fmt.Errorf("tokenizer: tokenizer.ggml.add_eos_token is true, but tokenizer.ggml.eos_token_id is not set")
	}

	t.detectRoles(&r)
	t.roles = r
	t.markEOG(&r)
	if name := strings.ToLower(v.name); strings.Contains(name, "phi-3") || strings.Contains(name, "phi3") {
		t.phi3Fixup()
	}
	t.buildSpecials()
	if t.kind == kindSPM {
		t.buildByteTokens()
	}
	if t.kind == kindBPE {
		if err := t.buildMerges(v.merges); err != nil {
			return nil, err
		}
	}
	t.buildPieces()
	return t, nil
}

// detectRoles fills roles the file left unset from well-known token texts,
// marking those tokens as control tokens, as llama.cpp does.
func (t *Tokenizer) detectRoles(r *roles) {
	for _, d := range []struct {
		id    *int
		texts []string
	}{
		{&r.eot, eotTexts}, {&r.eom, eomTexts},
		{&r.fimPre, fimPreTexts}, {&r.fimSuf, fimSufTexts}, {&r.fimMid, fimMidTexts},
		{&r.fimPad, fimPadTexts}, {&r.fimRep, fimRepTexts}, {&r.fimSep, fimSepTexts},
	} {
		if *d.id >= 0 {
			continue
		}
		// llama.cpp takes the first hit of an unordered map; take the
		// lowest id, which is deterministic.
		best := -1
		for _, s := range d.texts {
			if id, ok := t.toID[s]; ok && (best < 0 || int(id) < best) {
				best = int(id)
			}
		}
		if best >= 0 {
			*d.id = best
			t.attrs[best] |= attrControl
		}
	}
	// Control tokens named "unused" are unused.
	for id, a := range t.attrs {
		if a&attrControl != 0 && strings.Contains(t.tokens[id], "unused") {
			t.attrs[id] |= attrUnused
		}
	}
}

// markEOG builds the end-of-generation set.
func (t *Tokenizer) markEOG(r *roles) {
	t.eog = make(map[int]bool)
	for _, id := range []int{r.fimPad, r.fimRep, r.fimSep, r.eos, r.eot, r.eom} {
		if id >= 0 {
			t.eog[id] = true
		}
	}
	for _, s := range eogTexts {
		if id, ok := t.toID[s]; ok {
			t.eog[int(id)] = true
			t.attrs[id] |= attrControl
		}
	}
	// gpt-oss style vocabularies: <|end|> separates messages there and does
	// not end generation when <|return|> and <|call|> exist.
	_, hasReturn := t.toID["<|return|>"]
	_, hasCall := t.toID["<|call|>"]
	_, hasCalls := t.toID["<|calls|>"]
	_, hasFlush := t.toID["<|flush|>"]
	if end, ok := t.toID["<|end|>"]; ok && ((hasReturn && (hasCall || hasCalls)) || ((hasCall || hasCalls) && hasFlush)) {
		delete(t.eog, int(end))
		t.attrs[end] = attrUserDefined
	}
	// These render as text in gpt-oss prompts.
	for _, s := range []string{"<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"} {
		if id, ok := t.toID[s]; ok {
			t.attrs[id] = attrUserDefined
		}
	}
	// Gemma 4 style: </s> is an ordinary token when <|tool_response> exists.
	if s, ok := t.toID["</s>"]; ok {
		if _, tr := t.toID["<|tool_response>"]; tr && t.eog[int(s)] {
			delete(t.eog, int(s))
			t.attrs[s] = attrNormal
		}
	}
}

// phi3Fixup applies llama.cpp's Phi-3 attributes: special tokens eat the
// whitespace that follows them, except <unk>, <s> and <|endoftext|>.
func (t *Tokenizer) phi3Fixup() {
	for id, a := range t.attrs {
		if a&(attrControl|attrUserDefined|attrUnknown) != 0 {
			t.attrs[id] |= attrRStrip
		}
	}
	if id, ok := t.toID["</s>"]; ok {
		t.attrs[id] |= attrRStrip
	}
	for _, s := range []string{"<unk>", "<s>", "<|endoftext|>"} {
		if id, ok := t.toID[s]; ok {
			t.attrs[id] &^= attrRStrip
		}
	}
}

// buildSpecials lists the tokens that are matched as whole tokens in text
// (control, user-defined and unknown), longest text first.
func (t *Tokenizer) buildSpecials() {
	t.specials = t.specials[:0]
	for id, a := range t.attrs {
		if a&(attrControl|attrUserDefined|attrUnknown) != 0 {
			t.specials = append(t.specials, int32(id))
		}
	}
	sort.SliceStable(t.specials, func(i, j int) bool {
		return len(t.tokens[t.specials[i]]) > len(t.tokens[t.specials[j]])
	})
	t.specialTrie = newTrie()
	for rank, id := range t.specials {
		t.specialTrie.insert(t.tokens[id], rank)
	}
}
