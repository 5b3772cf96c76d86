package enginetest

import (
	"path/filepath"
	"testing"

	"github.com/qilin-ai/qilin/quantize"
	"github.com/qilin-ai/qilin/synth"
)

// ReasonerTemplate is a DeepSeek-R1-like template that opens the
// reasoning block at the end of the prompt.
const ReasonerTemplate = `{% for m in messages %}{% if m['role'] == 'system' %}{{ m['content'] }}{% elif m['role'] == 'user' %}<｜User｜>{{ m['content'] }}{% else %}<｜Assistant｜>{{ m['content'] }}<｜end▁of▁sentence｜>{% endif %}{% endfor %}{% if add_generation_prompt %}<｜Assistant｜><think>
{% endif %}`

// TinyReasoner writes a random-weight qwen2 model, 64 wide with one
// layer, whose template opens a reasoning block, into a temporary
// directory of t, and returns its path.
func TinyReasoner(t testing.TB) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tiny-reasoner.gguf")
	s := synth.Shape{Name: "tiny-reasoner", Arch: "qwen2", NVocab: 1024, NEmbd: 64, NLayer: 1, NHead: 2, NHeadKV: 1, HeadDim: 32,
		NFF: 128, Context: 256, RopeBase: 1e6, NormEps: 1e-6, Tied: true, QKVBias: true,
		Vocab: synth.Vocab{Pre: "qwen2", Regular: 1016, BOS: 1016, EOS: 1017, PAD: 1016, AddBOS: true, ChatTemplate: ReasonerTemplate,
			Special: []synth.SpecialToken{{ID: 1016, Text: "<｜begin▁of▁sentence｜>", Control: true}, {ID: 1017, Text: "<｜end▁of▁sentence｜>", Control: true},
				{ID: 1018, Text: "<｜User｜>"}, {ID: 1019, Text: "<｜Assistant｜>"}, {ID: 1020, Text: "<think>"}, {ID: 1021, Text: "</think>"}}}}
	if err := synth.Write(path, s, synth.Options{Type: quantize.F32, Seed: 3, Threads: 2}); err != nil {
		t.Fatal(err)
	}
	return path
}
