package tokenizer

import (
	"fmt"
	"sync"

	"github.com/dlclark/regexp2/v2"
)

// A preTokenizer splits text into words before byte-level BPE merges run
// inside each word. Its patterns are the regular expressions llama.cpp
// applies for the tokenizer.ggml.pre value, in order: each pattern splits
// every piece left by the previous one into its matches and the text
// between them (Hugging Face's "Isolated" split behaviour).
type preTokenizer struct {
	patterns []string
	// fast, when set, is a hand-written splitter equivalent to patterns
	// (fuzzed against them); it appends the end offset of each word of s.
	fast func(s string, ends []int) []int
	// nfc: NFC-normalize text before splitting (see the qwen2 entry).
	nfc bool
	// ignoreMerges: a word that is itself a vocabulary token is emitted
	// whole without running merges (llama.cpp's ignore_merges).
	ignoreMerges bool
	// addBOS is llama.cpp's default for tokenizer.ggml.add_bos_token.
	addBOS bool
	// noBOS: the type has no default BOS token.
	noBOS bool

	once sync.Once
	res  []*regexp2.Regexp
	err  error
}

// Pattern strings, as llama.cpp's src/llama-vocab.cpp lists them.
const (
	patGPT2 = `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)`
	// Qwen2's tokenizer.json has (?i:'s|...); llama.cpp spells the case
	// insensitivity out so that it holds for ASCII only. So do we.
	patQwen2 = `(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	// Qwen3.5's pattern is Qwen2's with combining marks (\p{M}) joining
	// letter runs and leaving the punctuation runs (llama.cpp's
	// LLAMA_VOCAB_PRE_TYPE_QWEN35), so that "e"+U+0301 stays one word.
	patQwen35 = `(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	patLlama3 = `(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	// DeepSeek-V3's main pattern; it runs after digits and CJK runs have
	// been split off.
	patDeepSeekV3Digits = `\p{N}{1,3}`
	patDeepSeekV3CJK    = `[一-龥぀-ゟ゠-ヿ]+`
	patDeepSeekV3       = `[!"#$%&'()*+,\-./:;<=>?@\[\\\]^_` + "`" + `{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	patStarcoderDigits  = `\p{N}`
	// Written with escapes: the class holds canonical singletons (U+1F7D,
	// U+1FBE, U+2126, U+212A, ...) that NFC-normalizing tools would rewrite.
	patDeepSeekLLMWords = `\s?[` +
		"A-Za-z\u00B5\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u01BA\u01BC-\u01BF\u01C4-\u0293\u0295-\u02AF" +
		"\u0370-\u0373\u0376\u0377\u037B-\u037D\u037F\u0386\u0388-\u038A\u038C\u038E-\u03A1" +
		"\u03A3-\u03F5\u03F7-\u0481\u048A-\u052F\u0531-\u0556\u10A0-\u10C5\u13A0-\u13F5" +
		"\u13F8-\u13FD\u1C90-\u1CBA\u1CBD-\u1CBF\u1D00-\u1D2B\u1D6B-\u1D77\u1D79-\u1D9A" +
		"\u1E00-\u1F15\u1F18-\u1F1D\u1F20-\u1F45\u1F48-\u1F4D\u1F50-\u1F57\u1F59\u1F5B\u1F5D" +
		"\u1F5F-\u1F7D\u1F80-\u1FB4\u1FB6-\u1FBC\u1FBE\u1FC2-\u1FC4\u1FC6-\u1FCC\u1FD0-\u1FD3" +
		"\u1FD6-\u1FDB\u1FE0-\u1FEC\u1FF2-\u1FF4\u1FF6-\u1FFC\u2102\u2107\u210A-\u2113\u2115" +
		"\u2119-\u211D\u2124\u2126\u2128\u212A-\u212D\u212F-\u2134\u2139\u213C-\u213F\u2145-\u2149" +
		"\u214E\u2183\u2184\u2C00-\u2C7B\u2C7E-\u2CE4\u2CEB-\u2CEE\u2CF2\u2CF3\uA640-\uA66D" +
		"\uA680-\uA69B\uA722-\uA76F\uA771-\uA787\uA78B-\uA78E\uAB70-\uABBF\uFB00-\uFB06" +
		"\uFB13-\uFB17\uFF21-\uFF3A\uFF41-\uFF5A\U00010400-\U0001044F\U000104B0-\U000104D3" +
		"\U000104D8-\U000104FB\U00010C80-\U00010CB2\U00010CC0-\U00010CF2\U000118A0-\U000118DF" +
		"\U0001E900-\U0001E943" +
		`]+`
	patDeepSeekLLMPunct = `\s?[!-/:-~！-／：-～‘-‟　-。]+`
	patCJKHangul        = `[一-龥ࠀ-一가-퟿]+`
)

// preTokenizers maps tokenizer.ggml.pre values to their splitting rules,
// following llama.cpp's llama_vocab::impl::load and llm_tokenizer_bpe.
var preTokenizers = map[string]*preTokenizer{}

func init() {
	def := &preTokenizer{patterns: []string{
		`[\p{P}\$\+<=>\^~\|]+`,
		patGPT2,
		`\p{N}+`,
		`[0-9][0-9][0-9]`,
	}}
	llama3 := &preTokenizer{patterns: []string{patLlama3}, fast: splitLlama3, ignoreMerges: true, addBOS: true}
	// Qwen's tokenizer.json declares an NFC normalizer. GGUF does not record
	// normalizers (and llama.cpp applies none), so it is keyed on the
	// pre-tokenizer: without it a decomposed "e"+U+0301 splits and merges
	// differently from the precomposed "é" that Hugging Face would see.
	qwen2 := &preTokenizer{patterns: []string{patQwen2}, fast: splitQwen2, nfc: true}
	gpt2 := &preTokenizer{patterns: []string{patGPT2}}
	starcoder := &preTokenizer{patterns: []string{patStarcoderDigits, patGPT2}}
	deepseekV3 := &preTokenizer{patterns: []string{patDeepSeekV3Digits, patDeepSeekV3CJK, patDeepSeekV3}, fast: splitDeepSeekV3}
	reg := func(p *preTokenizer, names ...string) {
		for _, n := range names {
			preTokenizers[n] = p
		}
	}
	reg(def, "default")
	reg(llama3, "llama3", "llama-v3", "llama-bpe", "falcon3", "pixtral")
	reg(&preTokenizer{patterns: []string{patLlama3}, fast: splitLlama3}, "dbrx", "smaug-bpe")
	reg(&preTokenizer{patterns: []string{patLlama3}, fast: splitLlama3, noBOS: true}, "chatglm-bpe", "glm4")
	reg(qwen2, "qwen2", "deepseek-r1-qwen")
	// Qwen3.5's tokenizer.json keeps Qwen's NFC normalizer; llama.cpp, as
	// for qwen2, applies none and keeps spaces uncleaned.
	reg(&preTokenizer{patterns: []string{patQwen35}, fast: splitQwen35, nfc: true}, "qwen35")
	// Same split rules as Qwen2, but not Qwen's tokenizer: no normalizer.
	reg(&preTokenizer{patterns: []string{patQwen2}, fast: splitQwen2}, "stablelm2", "megrez")
	reg(gpt2, "gpt-2", "phi-2", "jina-es", "jina-de", "jina-v2-es", "jina-v2-de", "mpt", "olmo", "jais", "exaone4")
	reg(starcoder, "starcoder", "refact", "command-r", "smollm", "codeshell", "exaone", "minerva-7b")
	reg(&preTokenizer{patterns: []string{
		`[\p{P}\$\+<=>\^~\|` + "`" + `]+`,
		`'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)`,
		`[0-9][0-9][0-9]`,
	}}, "falcon")
	reg(&preTokenizer{patterns: []string{
		"[\r\n]", patDeepSeekLLMWords, patDeepSeekLLMPunct, `\s+\z`, patCJKHangul, `\p{N}+`,
	}}, "deepseek-llm")
	reg(&preTokenizer{patterns: []string{
		"[\r\n]", `\s?\p{L}+`, `\s?\p{P}+`, patCJKHangul, `\p{N}`,
	}}, "deepseek-coder")
	reg(deepseekV3, "deepseek-v3")
	reg(&preTokenizer{patterns: []string{` ?[^(\s|.,!?…。，、।۔،)]+`}}, "poro-chat", "bloom", "gpt3-finnish")
	reg(&preTokenizer{patterns: []string{` ?[^(\s|.,!?…。，、।۔،)]+`, `\p{N}`}}, "viking")
	reg(&preTokenizer{patterns: []string{
		`(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1}| ?[^\s\p{L}\p{N}\r\n]+|\s*[\r\n]+|\s+(?!\S)|\s+`,
	}}, "seed-coder")
}

// lookupPre returns the pre-tokenizer for a tokenizer.ggml.pre value; an
// empty value means "default", as in llama.cpp.
func lookupPre(name string) (*preTokenizer, error) {
	if name == "" {
		name = "default"
	}
	p, ok := preTokenizers[name]
	if !ok {
		return nil, fmt.Errorf("tokenizer: unknown pre-tokenizer %q (tokenizer.ggml.pre)", name)
	}
	return p, nil
}

// compiled returns the patterns compiled with regexp2.
func (p *preTokenizer) compiled() ([]*regexp2.Regexp, error) {
	p.once.Do(func() {
		for _, pat := range p.patterns {
			re, err := regexp2.Compile(pat)
			if err != nil {
				p.err = fmt.Errorf("tokenizer: pre-tokenizer pattern %q: %w", pat, err)
				return
			}
			p.res = append(p.res, re)
		}
	})
	return p.res, p.err
}

// split appends the end offsets of the words of s to ends.
func (p *preTokenizer) split(s string, ends []int) ([]int, error) {
	if p.fast != nil {
		return p.fast(s, ends), nil
	}
	return p.splitRegexp(s, ends)
}

// splitRegexp splits s with the regexp2 patterns: the reference
// implementation, and the one used for pre-tokenizers without a
// hand-written splitter.
func (p *preTokenizer) splitRegexp(s string, ends []int) ([]int, error) {
	res, err := p.compiled()
	if err != nil {
		return ends, err
	}
	if len(s) == 0 {
		return ends, nil
	}
	cur := []int{len(s)}
	for _, re := range res {
		var next []int
		start := 0
		for _, end := range cur {
			seg := s[start:end]
			m, err := re.FindAllStringIndex(seg, -1)
			if err != nil {
				return ends, fmt.Errorf("tokenizer: pre-tokenizer pattern %q: %w", re.String(), err)
			}
			pos := 0
			for _, loc := range m {
				if loc[1] == loc[0] {
					continue // an empty match splits nothing
				}
				if loc[0] > pos {
					next = append(next, start+loc[0])
				}
				next = append(next, start+loc[1])
				pos = loc[1]
			}
			if pos < len(seg) {
				next = append(next, end)
			}
			start = end
		}
		cur = next
	}
	return append(ends, cur...), nil
}
