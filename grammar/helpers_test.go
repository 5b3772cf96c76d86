package grammar

import (
	"math"
	"math/rand/v2"
	"os"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/qilin-ai/qilin/gguf"
	"github.com/qilin-ai/qilin/internal/testdata"
	"github.com/qilin-ai/qilin/tokenizer"
)

var (
	qwenOnce  sync.Once
	qwenVocab *Vocab
	qwenErr   error
)

// loadQwen returns the Vocab of the real Qwen2 vocabulary (151,669
// tokens), built once; it skips t without the shared test data.
func loadQwen(t testing.TB) *Vocab {
	t.Helper()
	path := testdata.Path(t, "vocab", "ggml-vocab-qwen2.gguf")
	qwenOnce.Do(func() {
		f, err := gguf.Open(path)
		if err != nil {
			qwenErr = err
			return
		}
		defer f.Close()
		tok, err := tokenizer.FromGGUF(f)
		if err != nil {
			qwenErr = err
			return
		}
		qwenVocab, qwenErr = vocabOf(tok)
	})
	if qwenErr != nil {
		t.Fatal(qwenErr)
	}
	return qwenVocab
}

// vocabOf builds a Vocab from a tokenizer as doc.go tells engines to.
func vocabOf(tok *tokenizer.Tokenizer) (*Vocab, error) {
	n := tok.VocabSize()
	pieces := make([][]byte, n)
	kinds := make([]TokenKind, n)
	for id := range n {
		pieces[id] = tok.Piece(id)
		switch {
		case tok.IsEOG(id):
			kinds[id] = TokenEOG
		case tok.TokenType(id) == tokenizer.TypeControl:
			kinds[id] = TokenSpecial
		}
	}
	return NewVocab(pieces, kinds)
}

// synthVocab is a small vocabulary written here: every single byte, random
// multi-byte tokens over JSON-ish text (including characters cut inside
// their UTF-8 encoding), two special tokens, an EOG token and an empty one.
func synthVocab(seed uint64) (*Vocab, [][]byte, []TokenKind) {
	rng := rand.New(rand.NewPCG(seed, 7))
	var pieces [][]byte
	var kinds []TokenKind
	add := func(p []byte, k TokenKind) {
		pieces = append(pieces, p)
		kinds = append(kinds, k)
	}
	for b := range 256 {
		add([]byte{byte(b)}, TokenText)
	}
	alphabet := []string{"{", "}", "[", "]", `"`, ":", ",", " ", "\n", "\t", "0", "1", "5", "9", "-", ".", "e",
		"a", "b", "c", "x", "n", "u", "l", "t", "r", "f", "s", `\`, "é", "中", "😀", "true", "null", "false",
		`":`, `",`, `"}`, "  ", "\n\n", "ab", "abc"}
	seen := map[string]bool{}
	for len(pieces) < 1500 {
		var p []byte
		for range 1 + rng.IntN(4) {
			p = append(p, alphabet[rng.IntN(len(alphabet))]...)
		}
		if rng.IntN(8) == 0 && len(p) > 1 {
			p = p[:len(p)-1] // may cut a character
		}
		if !seen[string(p)] && len(p) > 1 {
			seen[string(p)] = true
			add(p, TokenText)
		}
	}
	add([]byte("<|im_start|>"), TokenSpecial)
	add([]byte("<think>"), TokenSpecial)
	add([]byte("<|im_end|>"), TokenEOG)
	add(nil, TokenText)
	add([]byte(`"a"`), TokenText) // a duplicate piece of a random token, maybe
	add([]byte(`"a"`), TokenText)
	v, err := NewVocab(pieces, kinds)
	if err != nil {
		panic(err)
	}
	return v, pieces, kinds
}

// setBits lists the ids set in mask.
func setBits(mask []uint64, n int) []int {
	var out []int
	for id := range n {
		if mask[id>>6]&(1<<(id&63)) != 0 {
			out = append(out, id)
		}
	}
	return out
}

// sampleToken picks a token from mask with logits at temperature temp (0:
// argmax).
func sampleToken(rng *rand.Rand, logits []float32, mask []uint64, temp float64) int {
	best, bestV := -1, math.Inf(-1)
	var ids []int
	var ws []float64
	maxV := math.Inf(-1)
	for i, l := range logits {
		if mask[i>>6]&(1<<(i&63)) == 0 {
			continue
		}
		if float64(l) > bestV {
			best, bestV = i, float64(l)
		}
		ids = append(ids, i)
		maxV = math.Max(maxV, float64(l))
	}
	if temp == 0 || best < 0 {
		return best
	}
	total := 0.0
	for _, id := range ids {
		w := math.Exp((float64(logits[id]) - maxV) / temp)
		ws = append(ws, w)
		total += w
	}
	x := rng.Float64() * total
	for i, w := range ws {
		x -= w
		if x <= 0 {
			return ids[i]
		}
	}
	return ids[len(ids)-1]
}

// validPrefix reports whether p is a prefix of some valid UTF-8 text.
func validPrefix(p []byte) bool {
	for len(p) > 0 {
		r, n := utf8.DecodeRune(p)
		if r == utf8.RuneError && n <= 1 {
			return !utf8.FullRune(p) && partialOK(p)
		}
		p = p[n:]
	}
	return true
}

// partialOK reports whether the incomplete sequence p starts some valid
// UTF-8 character.
func partialOK(p []byte) bool {
	for _, c := range []byte{0x80, 0x90, 0xA0, 0xBF} {
		q := append([]byte(nil), p...)
		for !utf8.FullRune(q) {
			q = append(q, c)
		}
		if r, _ := utf8.DecodeRune(q); r != utf8.RuneError {
			return true
		}
	}
	return false
}

// testdataDir reports whether the shared test data is present (tests that
// need it call loadQwen, which skips or fails as CI asks).
func testdataDir() (string, bool) {
	if os.Getenv("QILIN_REQUIRE_TESTDATA") == "1" {
		return "", true
	}
	return testdata.Find()
}
