package tokenizer

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/qilin-ai/qilin/internal/testdata"
)

// benchText is mixed English prose, Chinese and Go code, about 1 KiB,
// repeated to make the benchmark input.
const benchText = `The quick brown fox jumps over the lazy dog. It's 12:30 and we've got 4,096 tokens left; don't waste them!
深度求索是一家专注于通用人工智能的公司。我们相信，模型的推理能力来自于大规模的强化学习，而不是简单的模仿。
func (t *Tokenizer) Encode(text string) ([]int, error) {
	for i := 0; i < len(text); i++ {
		if text[i] == '\n' { return nil, fmt.Errorf("line %d: unexpected newline", i) }
	}
	return ids, nil // TODO: handle    multiple   spaces
}
Qwen2.5 reasons step by step: 12+30=42, so the answer is 42. Ünïcödé, naïve café, Привет мир, ελληνικά.
日本語のテキストも少し入れておきます。カタカナとひらがな。
`

func benchEncode(b *testing.B, vocab string) {
	tok := loadTokenizer(b, filepath.Join(testdata.Dir(b), "vocab", vocab))
	text := strings.Repeat(benchText, 256)
	b.SetBytes(int64(len(text)))
	cpu0 := processCPUTime()
	n := 0
	for b.Loop() {
		if _, err := tok.Encode(text, false, false); err != nil {
			b.Fatal(err)
		}
		n++
	}
	// MB per CPU second: unlike MB/s, it does not drop when other
	// processes share the machine. Run with -cpu 1 for one core.
	if cpu := processCPUTime() - cpu0; cpu > 0 {
		b.ReportMetric(float64(n*len(text))/1e6/cpu.Seconds(), "MB/cpu-s")
	}
}

func BenchmarkEncodeQwen2(b *testing.B)      { benchEncode(b, "ggml-vocab-qwen2.gguf") }
func BenchmarkEncodeLlama3(b *testing.B)     { benchEncode(b, "ggml-vocab-llama3.gguf") }
func BenchmarkEncodeDeepSeekV3(b *testing.B) { benchEncode(b, "ggml-vocab-deepseek-v3.gguf") }
func BenchmarkEncodeLlamaSPM(b *testing.B)   { benchEncode(b, "ggml-vocab-llama-spm.gguf") }
func BenchmarkEncodeGPT2(b *testing.B)       { benchEncode(b, "ggml-vocab-gpt-2.gguf") }

// benchSplit splits the benchmark text with a pre-tokenizer's hand-written
// splitter, or with its regexp2 patterns.
func benchSplit(b *testing.B, name string, regexp bool) {
	p := preTokenizers[name]
	text := strings.Repeat(benchText, 64)
	b.SetBytes(int64(len(text)))
	var ends []int
	for b.Loop() {
		if regexp {
			var err error
			if ends, err = p.splitRegexp(text, ends[:0]); err != nil {
				b.Fatal(err)
			}
		} else {
			ends = p.fast(text, ends[:0])
		}
	}
}

func BenchmarkSplitQwen35(b *testing.B)        { benchSplit(b, "qwen35", false) }
func BenchmarkSplitQwen35Regexp2(b *testing.B) { benchSplit(b, "qwen35", true) }
