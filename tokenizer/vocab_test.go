package tokenizer

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/qilin-ai/qilin/gguf"
	"github.com/qilin-ai/qilin/internal/testdata"
)

// loadTokenizer opens a GGUF file and builds its tokenizer.
func loadTokenizer(t testing.TB, path string) *Tokenizer {
	t.Helper()
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tok, err := FromGGUF(f)
	if err != nil {
		t.Fatalf("%s: %v", filepath.Base(path), err)
	}
	return tok
}

// readVocabCases reads llama.cpp's test-tokenizer-0 format: NAME.inp holds
// strings each followed by "\n__ggml_vocab_test__\n"; NAME.out holds one
// line per string with the expected ids, each preceded by a space.
func readVocabCases(t *testing.T, base string) (texts []string, want [][]int) {
	t.Helper()
	inp, err := os.ReadFile(base + ".inp")
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.ReadFile(base + ".out")
	if err != nil {
		t.Fatal(err)
	}
	texts = strings.Split(string(inp), "\n__ggml_vocab_test__\n")
	if texts[len(texts)-1] != "" {
		t.Fatalf("%s.inp does not end with the separator", base)
	}
	texts = texts[:len(texts)-1]
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != len(texts) {
		t.Fatalf("%s: %d strings but %d lines of ids", base, len(texts), len(lines))
	}
	for i, line := range lines {
		ids := []int{}
		for _, f := range strings.Fields(line) {
			id, err := strconv.Atoi(f)
			if err != nil {
				t.Fatalf("%s.out line %d: %v", base, i+1, err)
			}
			ids = append(ids, id)
		}
		want = append(want, ids)
	}
	return texts, want
}

// TestVocabFiles checks every vocabulary in testdata/vocab against the
// token ids of its .inp/.out pair (add_special=false, parse_special=false).
func TestVocabFiles(t *testing.T) {
	dir := filepath.Join(testdata.Dir(t), "vocab")
	files, err := filepath.Glob(filepath.Join(dir, "*.gguf"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no vocab files in %s (%v)", dir, err)
	}
	for _, path := range files {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".gguf"), func(t *testing.T) {
			t.Parallel()
			tok := loadTokenizer(t, path)
			texts, want := readVocabCases(t, path)
			for i, text := range texts {
				got, err := tok.Encode(text, false, false)
				if err != nil {
					t.Fatalf("Encode(%q): %v", text, err)
				}
				if diff := cmp.Diff(want[i], got); diff != "" {
					t.Errorf("Encode(%q) (-want +got):\n%s", text, diff)
				}
			}
		})
	}
}

// TestQwen2Vocab checks NFC and special-token handling on the real Qwen2
// vocabulary.
func TestQwen2Vocab(t *testing.T) {
	tok := loadTokenizer(t, testdata.Path(t, "vocab", "ggml-vocab-qwen2.gguf"))
	for _, pair := range [][2]string{
		{"café au lait", "cafe\u0301 au lait"},
		{"Ångström", "A\u030angstro\u0308m"},
		{"한국어", "\u1112\u1161\u11ab\u1100\u116e\u11a8\u110b\u1165"}, // Hangul jamo compose
	} {
		if diff := cmp.Diff(mustEncode(t, tok, pair[0], false, false), mustEncode(t, tok, pair[1], false, false)); diff != "" {
			t.Errorf("%q and its decomposed form tokenize differently (-nfc +nfd):\n%s", pair[0], diff)
		}
	}
	imStart, ok := tok.SpecialID("<|im_start|>")
	if !ok || imStart != 151644 {
		t.Fatalf("SpecialID(<|im_start|>) = %d, %v", imStart, ok)
	}
	text := "<|im_start|>system\nYou are helpful.<|im_end|>"
	parsed := mustEncode(t, tok, text, false, true)
	if parsed[0] != imStart || parsed[len(parsed)-1] != 151645 {
		t.Errorf("parseSpecial=true: %v", parsed)
	}
	plain := mustEncode(t, tok, text, false, false)
	if slices.Contains(plain, imStart) || slices.Contains(plain, 151645) {
		t.Errorf("parseSpecial=false produced control tokens: %v", plain)
	}
	for _, ids := range [][]int{parsed, plain} {
		if got := tok.Decode(ids); got != text {
			t.Errorf("Decode = %q, want %q", got, text)
		}
	}
	if !tok.IsEOG(151645) || !tok.IsEOG(151643) || tok.IsEOG(imStart) {
		t.Error("IsEOG: want <|im_end|> and <|endoftext|> only")
	}
}
