package synth

import (
	"fmt"
	"math/rand/v2"
)

// GGUF token types (llama.cpp's llama_token_type).
const (
	tokenNormal      = 1
	tokenControl     = 3
	tokenUserDefined = 4
	tokenUnused      = 5
)

// byteChars maps each byte to the printable character byte-level BPE uses
// for it (GPT-2's bytes_to_unicode): printable Latin-1 bytes map to
// themselves, the others to U+0100 onwards in byte order.
func byteChars() [256]rune {
	var m [256]rune
	next := rune(256)
	for b := 0; b < 256; b++ {
		if ('!' <= b && b <= '~') || (0xA1 <= b && b <= 0xAC) || (0xAE <= b && b <= 0xFF) {
			m[b] = rune(b)
		} else {
			m[b] = next
			next++
		}
	}
	return m
}

// byteOrder is the order of the byte tokens in GPT-2-style vocabularies:
// the printable bytes first, then the others.
func byteOrder() []int {
	var order, rest []int
	for b := 0; b < 256; b++ {
		if ('!' <= b && b <= '~') || (0xA1 <= b && b <= 0xAC) || (0xAE <= b && b <= 0xFF) {
			order = append(order, b)
		} else {
			rest = append(rest, b)
		}
	}
	return append(order, rest...)
}

// vocabulary is a generated tokenizer.ggml.* vocabulary.
type vocabulary struct {
	tokens []string
	types  []int32
	merges []string
}

// buildVocab makes a byte-level BPE vocabulary of n tokens: the 256 byte
// tokens, v.Regular-256 merged tokens, v.Special at their ids and
// "[PADi]" unused tokens elsewhere (as llama.cpp's converter pads).
//
// Merged tokens are word prefixes: a space ('Ġ') or a letter followed by
// lowercase letters, grown one letter per merge, level by level, a seeded
// random subset of the last level filling the count. Two thirds of the
// merges grow words after a space and rank first, so that BPE builds a
// word left to right from its space (" the" is "Ġt", "Ġth", "Ġthe"); the rest
// grow words at the start of a text. Every merge joins two existing tokens
// into a new one, so tokens and merges are consistent.
func buildVocab(v Vocab, n int) (*vocabulary, error) {
	if v.Regular < 256 || v.Regular > n {
		return nil, fmt.Errorf("synth: %d regular tokens must be at least the 256 bytes and at most the vocabulary size %d", v.Regular, n)
	}
	voc := &vocabulary{tokens: make([]string, n), types: make([]int32, n)}
	chars := byteChars()
	for i, b := range byteOrder() {
		voc.tokens[i], voc.types[i] = string(chars[b]), tokenNormal
	}
	next := 256
	rng := rand.New(rand.NewPCG(0x51a1, 0x70c3))
	// grow adds up to budget merges extending the given prefixes by a
	// lowercase letter, level after level.
	grow := func(level []string, budget int) {
		for budget > 0 && len(level) > 0 {
			cands := make([]int32, len(level)*26) // index = prefix*26 + letter
			for i := range cands {
				cands[i] = int32(i)
			}
			if len(cands) > budget {
				rng.Shuffle(len(cands), func(i, j int) { cands[i], cands[j] = cands[j], cands[i] })
				cands = cands[:budget]
			}
			grown := make([]string, len(cands))
			for j, c := range cands {
				left, right := level[c/26], string(rune('a'+c%26))
				grown[j] = left + right
				voc.tokens[next], voc.types[next] = grown[j], tokenNormal
				voc.merges = append(voc.merges, left+" "+right)
				next++
			}
			budget -= len(cands)
			level = grown
		}
	}
	var letters []string
	for c := 'a'; c <= 'z'; c++ {
		letters = append(letters, string(c), string(c-'a'+'A'))
	}
	budget := v.Regular - 256
	afterSpace := (2*budget + 2) / 3
	words := make([]string, len(letters))
	for i, l := range letters {
		words[i] = string(chars[' ']) + l
	}
	// The space+letter merges themselves come first.
	for i := 0; i < min(afterSpace, len(words)); i++ {
		voc.tokens[next], voc.types[next] = words[i], tokenNormal
		voc.merges = append(voc.merges, string(chars[' '])+" "+letters[i])
		next++
	}
	grow(words[:min(afterSpace, len(words))], afterSpace-min(afterSpace, len(words)))
	grow(letters, v.Regular-next)
	if next != v.Regular {
		return nil, fmt.Errorf("synth: could only make %d of %d regular tokens", next, v.Regular)
	}
	seen := map[int]bool{}
	for _, s := range v.Special {
		if s.ID < v.Regular || s.ID >= n || seen[s.ID] {
			return nil, fmt.Errorf("synth: special token %q at id %d is not a free id in [%d, %d)", s.Text, s.ID, v.Regular, n)
		}
		seen[s.ID] = true
		voc.tokens[s.ID], voc.types[s.ID] = s.Text, tokenUserDefined
		if s.Control {
			voc.types[s.ID] = tokenControl
		}
	}
	for i := v.Regular; i < n; i++ {
		if !seen[i] {
			voc.tokens[i], voc.types[i] = fmt.Sprintf("[PAD%d]", i), tokenUnused
		}
	}
	return voc, nil
}
