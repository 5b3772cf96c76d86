package tokenizer

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/qilin-ai/qilin/gguf"
)

// toySPM is a SentencePiece vocabulary: <unk>, <s>, </s>, the 256 byte
// tokens, then normal tokens with their scores.
func toySPM(t testing.TB, normal map[string]float32, flags map[string]bool) *Tokenizer {
	t.Helper()
	v := vocabSpec{model: "llama", flags: flags}
	add := func(s string, score float32, typ TokenType) {
		v.tokens = append(v.tokens, s)
		v.scores = append(v.scores, score)
		v.types = append(v.types, int32(typ))
	}
	add("<unk>", 0, TypeUnknown)
	add("<s>", 0, TypeControl)
	add("</s>", 0, TypeControl)
	for b := 0; b < 256; b++ {
		add(byteTokenText(byte(b)), 0, TypeByte)
	}
	keys := make([]string, 0, len(normal))
	for k := range normal {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		add(k, normal[k], TypeNormal)
	}
	tok, err := newFromVocab(v)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func byteTokenText(b byte) string { return "<0x" + strings.ToUpper(hexByte(b)) + ">" }

func hexByte(b byte) string {
	const h = "0123456789abcdef"
	return string([]byte{h[b>>4], h[b&15]})
}

// toyBPE is a byte-level BPE vocabulary: the 256 byte characters (token id
// = byte value), the merge results in order, then extra tokens.
func toyBPE(t testing.TB, pre string, merges []string, extra []string, extraTypes []TokenType) *Tokenizer {
	t.Helper()
	v := toyBPESpec(pre, merges, extra, extraTypes)
	tok, err := newFromVocab(v)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func toyBPESpec(pre string, merges []string, extra []string, extraTypes []TokenType) vocabSpec {
	v := vocabSpec{model: "gpt2", pre: pre, merges: merges}
	seen := map[string]bool{}
	add := func(s string, typ TokenType) {
		if !seen[s] {
			seen[s] = true
			v.tokens = append(v.tokens, s)
			v.types = append(v.types, int32(typ))
		}
	}
	for b := 0; b < 256; b++ {
		add(byteChars[b], TypeNormal)
	}
	for _, m := range merges {
		add(strings.Replace(m, " ", "", 1), TypeNormal)
	}
	for i, s := range extra {
		add(s, extraTypes[i])
	}
	return v
}

// ids maps token texts to ids.
func ids(t testing.TB, tok *Tokenizer, texts ...string) []int {
	t.Helper()
	out := []int{}
	for _, s := range texts {
		id, ok := tok.toID[s]
		if !ok {
			t.Fatalf("no token %q", s)
		}
		out = append(out, int(id))
	}
	return out
}

func mustEncode(t testing.TB, tok *Tokenizer, text string, addSpecial, parseSpecial bool) []int {
	t.Helper()
	got, err := tok.Encode(text, addSpecial, parseSpecial)
	if err != nil {
		t.Fatalf("Encode(%q): %v", text, err)
	}
	return got
}

func TestSPMEncode(t *testing.T) {
	hello := map[string]float32{
		"▁": -1, "h": -1, "e": -1, "l": -1, "o": -1,
		"▁h": -2, "▁he": -3, "ll": -2, "llo": -3, "▁hello": -4,
	}
	tok := toySPM(t, hello, nil)
	tests := []struct {
		name       string
		text       string
		addSpecial bool
		parse      bool
		want       []string
	}{
		{"merges by score", "hello", false, false, []string{"▁hello"}},
		{"BOS", "hello", true, false, []string{"<s>", "▁hello"}},
		{"empty", "", false, false, nil},
		{"empty with BOS", "", true, false, []string{"<s>"}},
		{"spaces become ▁", "hello hello", false, false, []string{"▁hello", "▁hello"}},
		{"byte fallback", "hé", false, false, []string{"▁h", "<0xC3>", "<0xA9>"}},
		{"invalid UTF-8 as bytes", "h\xff", false, false, []string{"▁h", "<0xFF>"}},
		{"control token as text", "<s>", false, false, []string{"▁", "<0x3C>", "<0x73>", "<0x3E>"}},
		{"control token parsed, space prefixed after it", "<s>hello", false, true, []string{"<s>", "▁hello"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mustEncode(t, tok, tt.text, tt.addSpecial, tt.parse)
			if diff := cmp.Diff(ids(t, tok, tt.want...), got); diff != "" {
				t.Errorf("Encode(%q) (-want +got):\n%s", tt.text, diff)
			}
		})
	}

	noPrefix := toySPM(t, hello, map[string]bool{"add_space_prefix": false})
	if diff := cmp.Diff(ids(t, noPrefix, "h", "e", "llo"), mustEncode(t, noPrefix, "hello", false, false)); diff != "" {
		t.Errorf("add_space_prefix=false (-want +got):\n%s", diff)
	}
}

// TestSPMTies checks the merge order when scores tie: the leftmost pair
// merges first, which is what a vocabulary whose scores are all equal (the
// TinyStories models) relies on.
func TestSPMTies(t *testing.T) {
	tests := []struct {
		scores map[string]float32
		want   []string
	}{
		{map[string]float32{"▁": -1000, "a": -1000, "b": -1000, "c": -1000, "ab": -1000, "bc": -1000}, []string{"▁", "ab", "c"}},
		{map[string]float32{"▁": -1000, "a": -1000, "b": -1000, "c": -1000, "ab": -1000, "bc": -999}, []string{"▁", "a", "bc"}},
		{map[string]float32{"▁": -1000, "a": -1000, "b": -1000, "c": -1000, "ab": -1000, "bc": -1000, "▁a": -1000}, []string{"▁a", "bc"}},
	}
	for _, tt := range tests {
		tok := toySPM(t, tt.scores, map[string]bool{})
		if diff := cmp.Diff(ids(t, tok, tt.want...), mustEncode(t, tok, "abc", false, false)); diff != "" {
			t.Errorf("scores %v (-want +got):\n%s", tt.scores, diff)
		}
	}
}

var helloMerges = []string{"h e", "l l", "he ll", "hell o", "Ġ w", "o r", "Ġw or", "l d", "Ġwor ld", "Ã ©"}

func TestBPEEncode(t *testing.T) {
	tok := toyBPE(t, "gpt-2", append([]string{"b c", "a b", "a a"}, helloMerges...), []string{"xyz"}, []TokenType{TypeNormal})
	tests := []struct {
		text string
		want []string
	}{
		{"hello world", []string{"hello", "Ġworld"}},
		{"abc", []string{"a", "bc"}},         // lower rank first
		{"aaa", []string{"aa", "a"}},         // leftmost on ties
		{"xyz", []string{"x", "y", "z"}},     // not reachable by merges
		{"é", []string{"Ã©"}},                // bytes C3 A9 in the byte alphabet
		{"e\u0301", []string{"e", "Ì", "ģ"}}, // no NFC for gpt-2
		{"\xff", []string{"ÿ"}},              // raw bytes survive
	}
	for _, tt := range tests {
		if diff := cmp.Diff(ids(t, tok, tt.want...), mustEncode(t, tok, tt.text, false, false)); diff != "" {
			t.Errorf("Encode(%q) (-want +got):\n%s", tt.text, diff)
		}
	}
	// llama-bpe emits a word that is a token whole (ignore_merges).
	l3 := toyBPE(t, "llama-bpe", helloMerges, []string{"xyz"}, []TokenType{TypeNormal})
	if diff := cmp.Diff(ids(t, l3, "xyz"), mustEncode(t, l3, "xyz", false, false)); diff != "" {
		t.Errorf("llama-bpe ignore_merges (-want +got):\n%s", diff)
	}
}

// TestNFC checks that the Qwen pre-tokenizers (Qwen2/3 and Qwen3.5)
// normalize to NFC, so a decomposed é tokenizes like the precomposed one
// (Hugging Face does this; llama.cpp does not).
func TestNFC(t *testing.T) {
	for _, pre := range []string{"qwen2", "qwen35"} {
		tok := toyBPE(t, pre, helloMerges, nil, nil)
		for _, text := range []string{"é", "caf\u00e9 hello", "Ame\u0301lie"} {
			nfd := strings.ReplaceAll(text, "\u00e9", "e\u0301")
			nfc := strings.ReplaceAll(text, "e\u0301", "\u00e9")
			if diff := cmp.Diff(mustEncode(t, tok, nfc, false, false), mustEncode(t, tok, nfd, false, false)); diff != "" {
				t.Errorf("%s: %q vs %q (-nfc +nfd):\n%s", pre, nfc, nfd, diff)
			}
		}
		if got, want := mustEncode(t, tok, "e\u0301", false, false), ids(t, tok, "Ã©"); !slices.Equal(got, want) {
			t.Errorf("%s: Encode(e+U+0301) = %v, want %v", pre, got, want)
		}
	}
}

func TestSpecialTokens(t *testing.T) {
	tok := toyBPE(t, "qwen2", helloMerges,
		[]string{"<|im_start|>", "<|im_end|>", "<think>", "<ab>", "<ab>c"},
		[]TokenType{TypeControl, TypeControl, TypeUserDefined, TypeControl, TypeControl})
	imStart, _ := tok.SpecialID("<|im_start|>")
	think, _ := tok.SpecialID("<think>")
	tests := []struct {
		name  string
		text  string
		parse bool
		want  []int
	}{
		{"parsed", "<|im_start|>hello<|im_end|>", true, ids(t, tok, "<|im_start|>", "hello", "<|im_end|>")},
		{"user-defined always matched", "<think>hello", false, ids(t, tok, "<think>", "hello")},
		{"longest first", "<ab>c<ab>", true, ids(t, tok, "<ab>c", "<ab>")},
		{"adjacent", "<think><think>", false, ids(t, tok, "<think>", "<think>")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, mustEncode(t, tok, tt.text, false, tt.parse)); diff != "" {
				t.Errorf("Encode(%q, parseSpecial=%v) (-want +got):\n%s", tt.text, tt.parse, diff)
			}
		})
	}
	// Text a user typed must not become control tokens.
	plain := mustEncode(t, tok, "<|im_start|>system", false, false)
	if slices.Contains(plain, imStart) {
		t.Errorf("parseSpecial=false produced the <|im_start|> token: %v", plain)
	}
	if got := tok.Decode(plain); got != "<|im_start|>system" {
		t.Errorf("Decode(plain) = %q", got)
	}
	if think < 0 || tok.TokenType(think) != TypeUserDefined || tok.TokenType(imStart) != TypeControl {
		t.Errorf("token types: <think> %v, <|im_start|> %v", tok.TokenType(think), tok.TokenType(imStart))
	}
	if _, ok := tok.SpecialID("hello"); ok {
		t.Error("SpecialID(hello) found a normal token")
	}
}

// TestPhi3RStrip checks llama.cpp's Phi-3 fix-up: a special token eats the
// whitespace after it.
func TestPhi3RStrip(t *testing.T) {
	v := toyBPESpec("gpt-2", helloMerges, []string{"<|user|>"}, []TokenType{TypeControl})
	v.name = "Phi-3 mini"
	tok, err := newFromVocab(v)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(ids(t, tok, "<|user|>", "hello"), mustEncode(t, tok, "<|user|> \n hello", false, true)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestRolesAndDefaults(t *testing.T) {
	spm := toySPM(t, map[string]float32{"a": 0}, nil)
	if spm.BOS() != 1 || spm.EOS() != 2 || !spm.AddBOS() || spm.AddEOS() || !spm.IsEOG(2) || spm.IsEOG(1) {
		t.Errorf("SPM defaults: bos %d eos %d addBOS %v addEOS %v", spm.BOS(), spm.EOS(), spm.AddBOS(), spm.AddEOS())
	}
	v := toyBPESpec("qwen2", helloMerges, []string{"<|endoftext|>", "<|im_end|>", "<|fim_pad|>"}, []TokenType{TypeControl, TypeControl, TypeControl})
	v.ids = map[string]int64{"eos_token_id": int64(len(v.tokens) - 3), "bos_token_id": 1 << 40}
	tok, err := newFromVocab(v)
	if err != nil {
		t.Fatal(err)
	}
	eot, imEnd, fimPad := len(v.tokens)-3, len(v.tokens)-2, len(v.tokens)-1
	if tok.EOS() != eot || tok.AddBOS() {
		t.Errorf("EOS() = %d, want %d; AddBOS() = %v", tok.EOS(), eot, tok.AddBOS())
	}
	if tok.BOS() != 11 { // the gpt2 default; the file's id is out of range
		t.Errorf("BOS() = %d, want 11", tok.BOS())
	}
	for _, id := range []int{eot, imEnd, fimPad} {
		if !tok.IsEOG(id) {
			t.Errorf("IsEOG(%q) = false", tok.TokenText(id))
		}
	}
	if tok.IsEOG(0) || tok.IsEOG(-1) || tok.IsEOG(1<<30) {
		t.Error("IsEOG true for an ordinary or invalid id")
	}
	v.flags = map[string]bool{"add_bos_token": true, "add_eos_token": true}
	v.ids = map[string]int64{"bos_token_id": 5, "eos_token_id": int64(eot)}
	tok, err = newFromVocab(v)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(append(append([]int{5}, ids(t, tok, "hello")...), eot), mustEncode(t, tok, "hello", true, false)); diff != "" {
		t.Errorf("add_bos/add_eos (-want +got):\n%s", diff)
	}
}

func TestVocabErrors(t *testing.T) {
	tests := []struct {
		name string
		v    vocabSpec
		want string
	}{
		{"unknown pre", vocabSpec{model: "gpt2", pre: "klingon", tokens: []string{"a"}, merges: []string{"a a"}}, `"klingon"`},
		{"unknown model", vocabSpec{model: "t5", tokens: []string{"a"}}, `"t5"`},
		{"no model", vocabSpec{tokens: []string{"a"}}, "tokenizer.ggml.model"},
		{"empty", vocabSpec{model: "llama"}, "empty vocabulary"},
		{"duplicate", vocabSpec{model: "llama", tokens: []string{"a", "b", "a"}}, `duplicate token "a"`},
		{"short scores", vocabSpec{model: "llama", tokens: []string{"a", "b"}, scores: []float32{1}}, "scores"},
		{"no merges", vocabSpec{model: "gpt2", pre: "gpt-2", tokens: []string{"a"}}, "merges"},
		{"add_bos without bos", vocabSpec{model: "gpt2", pre: "gpt-2", tokens: []string{"a"}, merges: []string{"a a"}, flags: map[string]bool{"add_bos_token": true}}, "bos_token_id"},
	}
	for _, tt := range tests {
		_, err := newFromVocab(tt.v)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want one containing %s", tt.name, err, tt.want)
		}
	}
}

func TestDecode(t *testing.T) {
	spm := toySPM(t, map[string]float32{"▁hello": 0, "▁": 0}, nil)
	in := append(ids(t, spm, "<s>", "▁hello", "▁", "<0xC3>", "<0xA9>"), 1<<20)
	if got, want := spm.Decode(in), "<s> hello é"; got != want {
		t.Errorf("SPM Decode = %q, want %q", got, want)
	}
	if got, want := spm.DecodeWith(in, DecodeOptions{SkipSpecial: true}), " hello é"; got != want {
		t.Errorf("SPM DecodeWith(SkipSpecial) = %q, want %q", got, want)
	}
	bpe := toyBPE(t, "gpt-2", helloMerges, []string{"<|im_end|>", "<think>"}, []TokenType{TypeControl, TypeUserDefined})
	in = ids(t, bpe, "<think>", "hello", "Ġworld", "Ã©", "<|im_end|>")
	if got, want := bpe.Decode(in), "<think>hello worldé<|im_end|>"; got != want {
		t.Errorf("BPE Decode = %q, want %q", got, want)
	}
	if got, want := bpe.DecodeWith(in, DecodeOptions{SkipSpecial: true}), "<think>hello worldé"; got != want {
		t.Errorf("BPE DecodeWith(SkipSpecial) = %q, want %q", got, want)
	}
	if bpe.Piece(-1) != nil || bpe.TokenText(1<<20) != "" || bpe.TokenType(-1) != TypeUndefined {
		t.Error("out-of-range ids are not handled")
	}
}

// TestBPERoundTrip checks that byte-level BPE decodes back to any input
// (without special tokens), including invalid UTF-8.
func TestBPERoundTrip(t *testing.T) {
	tok := toyBPE(t, "gpt-2", helloMerges, nil, nil)
	rng := rand.New(rand.NewPCG(1, 2))
	for range 500 {
		s := randomText(rng, 40)
		if got := tok.Decode(mustEncode(t, tok, s, false, false)); got != s {
			t.Fatalf("Decode(Encode(%q)) = %q", s, got)
		}
	}
}

// randomText mixes ASCII, multi-byte characters, spaces and stray bytes.
func randomText(rng *rand.Rand, n int) string {
	pool := []string{"a", "b", "h", "e", "l", "o", " ", "  ", "\n", "\t", "'s", "1", "23", "é", "e\u0301", "深", "度", "😀", "\xff", "\xe4\xb8", ".", "<", "|"}
	var sb strings.Builder
	for range rng.IntN(n) {
		sb.WriteString(pool[rng.IntN(len(pool))])
	}
	return sb.String()
}

// TestStreamDecoder checks, for random id sequences (byte tokens split
// characters everywhere), that the streamed pieces add up to Decode, and
// that no piece ends inside a character that is valid in the full text.
func TestStreamDecoder(t *testing.T) {
	spm := toySPM(t, map[string]float32{"▁": 0, "深": 0, "é": 0}, nil)
	bpe := toyBPE(t, "gpt-2", helloMerges, []string{"<|im_end|>"}, []TokenType{TypeControl})
	rng := rand.New(rand.NewPCG(3, 4))
	for _, tok := range []*Tokenizer{spm, bpe} {
		for _, opts := range []DecodeOptions{{}, {SkipSpecial: true}} {
			for range 2000 {
				seq := make([]int, rng.IntN(12))
				for i := range seq {
					seq[i] = rng.IntN(tok.VocabSize()+2) - 1 // includes invalid ids
				}
				want := tok.DecodeWith(seq, opts)
				d := tok.NewStreamDecoderWith(opts)
				var sb strings.Builder
				for _, id := range seq {
					sb.WriteString(d.Push(id))
					if splitsCharacter(want, sb.Len()) {
						t.Fatalf("stream of %v: %q ends inside a character of %q", seq, sb.String(), want)
					}
				}
				sb.WriteString(d.Flush())
				if sb.String() != want {
					t.Fatalf("stream of %v = %q, Decode = %q", seq, sb.String(), want)
				}
			}
		}
	}
}

// splitsCharacter reports whether offset pos of s falls inside a valid
// multi-byte UTF-8 character.
func splitsCharacter(s string, pos int) bool {
	for j := pos - 1; j >= 0 && j > pos-utf8.UTFMax; j-- {
		if r, w := utf8.DecodeRuneInString(s[j:]); r != utf8.RuneError || w > 1 {
			return j+w > pos
		}
	}
	return false
}

func TestStreamDecoderHoldsPartialCharacter(t *testing.T) {
	tok := toySPM(t, nil, nil)
	d := tok.NewStreamDecoder()
	var got []string
	for _, s := range []string{"<0xE6>", "<0xB7>", "<0xB1>", "<0x21>", "<0xE6>"} {
		got = append(got, d.Push(ids(t, tok, s)[0]))
	}
	got = append(got, d.Flush())
	if diff := cmp.Diff([]string{"", "", "深", "!", "", "\xe6"}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if !utf8.ValidString(got[2]) {
		t.Error("invalid UTF-8")
	}
}

// TestFromGGUF writes a small vocabulary with gguf.Writer and reads it back.
func TestFromGGUF(t *testing.T) {
	v := toyBPESpec("qwen2", helloMerges, []string{"<|endoftext|>", "<|im_start|>"}, []TokenType{TypeControl, TypeControl})
	write := func(edit func(w *gguf.Writer)) (*Tokenizer, error) {
		w := gguf.NewWriter()
		w.SetKV("general.architecture", "qwen2")
		w.SetKV("tokenizer.ggml.model", "gpt2")
		w.SetKV("tokenizer.ggml.pre", "qwen2")
		w.SetKV("tokenizer.ggml.tokens", v.tokens)
		w.SetKV("tokenizer.ggml.token_type", v.types)
		w.SetKV("tokenizer.ggml.merges", v.merges)
		w.SetKV("tokenizer.ggml.eos_token_id", uint32(len(v.tokens)-2))
		w.SetKV("tokenizer.ggml.add_bos_token", false)
		edit(w)
		var buf bytes.Buffer
		if _, err := w.WriteTo(&buf); err != nil {
			t.Fatal(err)
		}
		f, err := gguf.Parse(buf.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		return FromGGUF(f)
	}
	tok, err := write(func(*gguf.Writer) {})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(ids(t, tok, "<|im_start|>", "hello", "Ġworld"), mustEncode(t, tok, "<|im_start|>hello world", true, true)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if tok.EOS() != len(v.tokens)-2 || !tok.IsEOG(tok.EOS()) || tok.VocabSize() != len(v.tokens) {
		t.Errorf("EOS %d, VocabSize %d", tok.EOS(), tok.VocabSize())
	}
	bad := []struct {
		key   string
		value any
		want  string
	}{
		{"tokenizer.ggml.tokens", []int32{1, 2}, "tokenizer.ggml.tokens"},
		{"tokenizer.ggml.merges", "h e", "tokenizer.ggml.merges"},
		{"tokenizer.ggml.eos_token_id", "2", "tokenizer.ggml.eos_token_id"},
		{"tokenizer.ggml.add_bos_token", uint8(1), "tokenizer.ggml.add_bos_token"},
		{"tokenizer.ggml.pre", "nope", `"nope"`},
		{"tokenizer.ggml.scores", []string{"x"}, "tokenizer.ggml.scores"},
	}
	for _, b := range bad {
		_, err := write(func(w *gguf.Writer) { w.SetKV(b.key, b.value) })
		if err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%s = %#v: error %v, want one naming %s", b.key, b.value, err, b.want)
		}
	}
}

// FuzzEncode feeds arbitrary text to both tokenizer kinds: no panics, and
// decoding gives the text back (for SentencePiece, with the prefixed space,
// when the text holds no "▁" of its own).
func FuzzEncode(f *testing.F) {
	for _, s := range splitSeeds {
		f.Add(s, false)
	}
	f.Add("<|im_start|>user\nhi<|im_end|>", true)
	spm := toySPM(f, map[string]float32{"▁": -1, "h": -1, "▁h": -2, "深": -1}, nil)
	bpe := toyBPE(f, "gpt-2", helloMerges, []string{"<|im_start|>", "<|im_end|>"}, []TokenType{TypeControl, TypeControl})
	qwen := toyBPE(f, "qwen2", helloMerges, []string{"<|im_start|>", "<|im_end|>"}, []TokenType{TypeControl, TypeControl})
	f.Fuzz(func(t *testing.T, s string, parse bool) {
		got := mustEncode(t, bpe, s, true, parse)
		if d := bpe.Decode(got); d != s {
			t.Fatalf("BPE Decode(Encode(%q)) = %q", s, d)
		}
		mustEncode(t, qwen, s, true, parse)
		got = mustEncode(t, spm, s, false, parse)
		// llama.cpp cuts SentencePiece symbols by lead byte, so invalid
		// UTF-8 can swallow the bytes of a following "▁"; skip it here.
		if s != "" && utf8.ValidString(s) && !strings.Contains(s, "▁") && !strings.Contains(s, "<") {
			if d := spm.Decode(got); d != " "+s {
				t.Fatalf("SPM Decode(Encode(%q)) = %q", s, d)
			}
		}
	})
}

// TestConcurrentEncode runs Encode from several goroutines on one
// Tokenizer (shared word cache and scratch buffers) and compares with
// sequential results.
func TestConcurrentEncode(t *testing.T) {
	tok := toyBPE(t, "qwen2", helloMerges, []string{"<|im_end|>"}, []TokenType{TypeControl})
	rng := rand.New(rand.NewPCG(5, 6))
	texts := make([]string, 200)
	want := make([][]int, len(texts))
	for i := range texts {
		texts[i] = randomText(rng, 30)
		want[i] = mustEncode(t, tok, texts[i], false, true)
	}
	tok.bpe.cache = map[string][]int32{} // start cold
	errs := make(chan string, 8)
	for g := range 8 {
		go func() {
			for k := range texts {
				i := (k + g*25) % len(texts)
				got, err := tok.Encode(texts[i], false, true)
				if err != nil || !slices.Equal(got, want[i]) {
					errs <- texts[i]
					return
				}
			}
			errs <- ""
		}()
	}
	for range 8 {
		if s := <-errs; s != "" {
			t.Errorf("concurrent Encode(%q) differs", s)
		}
	}
}
