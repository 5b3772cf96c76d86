package synth

import (
	"bytes"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/qilin-ai/qilin/gguf"
	"github.com/qilin-ai/qilin/internal/testdata"
	"github.com/qilin-ai/qilin/model"
	"github.com/qilin-ai/qilin/quantize"
	"github.com/qilin-ai/qilin/tokenizer"
)

// TestParamsMatchReleasedModels checks the shapes against the parameter
// counts of the released checkpoints (safetensors totals; llama.cpp also
// counts the 32 RoPE factors of Llama 3.2, and a tied output once).
func TestParamsMatchReleasedModels(t *testing.T) {
	want := map[string]int64{
		"qwen2.5-0.5b":                  494_032_768,
		"qwen2.5-1.5b":                  1_543_714_304,
		"qwen2.5-7b":                    7_615_616_512,
		"deepseek-r1-distill-qwen-1.5b": 1_777_088_000,
		"qwen3-0.6b":                    596_049_920,
		"qwen3-30b-a3b":                 30_532_122_624,
		"llama-3.2-1b":                  1_235_814_400 + 32,
		// config.json's sizes; the model card says 15.7B.
		"deepseek-v2-lite": 15_706_484_224,
		// Qwen3.5's text trunks, counted from config.json (the checkpoints'
		// totals also hold the vision encoder and the MTP block).
		"qwen3.5-0.8b":    qwen35Params(248320, 1024, 24, 8, 2, 3584, 16, true, 0, 0, 0),
		"qwen3.5-2b":      qwen35Params(248320, 2048, 24, 8, 2, 6144, 16, true, 0, 0, 0),
		"qwen3.5-9b":      qwen35Params(248320, 4096, 32, 16, 4, 12288, 32, false, 0, 0, 0),
		"qwen3.5-35b-a3b": qwen35Params(248320, 2048, 40, 16, 2, 0, 32, false, 256, 512, 512),
	}
	got := map[string]int64{}
	for _, s := range Shapes() {
		if !strings.HasPrefix(s.Name, "tiny-") {
			got[s.Name] = s.Params()
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("parameter counts (-want +got):\n%s", diff)
	}
}

// qwen35Params counts the weights of a Qwen3.5 text model as Hugging
// Face's modeling code declares its modules: head size 256, Gated DeltaNet
// with 16 key heads of 128, conv of 4, every 4th layer attention; experts >
// 0 replaces the MLP by a router, the experts and a gated shared expert.
func qwen35Params(vocab, e, layers, heads, kvHeads, ff, vHeads int, tied bool, experts, ffExp, ffShared int) int64 {
	const hd, dk, kHeads, conv = 256, 128, 16, 4
	kd, vd := kHeads*dk, vHeads*dk
	n := vocab*e + e // embed_tokens, norm
	if !tied {
		n += vocab * e // lm_head
	}
	for l := 0; l < layers; l++ {
		n += 2 * e // input_layernorm, post_attention_layernorm
		if (l+1)%4 == 0 {
			n += e*2*heads*hd + 2*e*kvHeads*hd + heads*hd*e + 2*hd // q_proj (with the gate), k/v_proj, o_proj, q/k_norm
		} else {
			n += e*(2*kd+vd) + e*vd + 2*e*vHeads       // in_proj_qkv, in_proj_z, in_proj_b, in_proj_a
			n += (2*kd+vd)*conv + 2*vHeads + dk + vd*e // conv1d, dt_bias, A_log, norm, out_proj
		}
		if experts > 0 {
			n += e*experts + experts*3*e*ffExp + 3*e*ffShared + e // gate, experts, shared_expert, shared_expert_gate
		} else {
			n += 3 * e * ff
		}
	}
	return int64(n)
}

func TestLookup(t *testing.T) {
	s, err := Lookup("Qwen2.5-0.5B")
	if err != nil || s.NEmbd != 896 || s.NLayer != 24 || s.NHead != 14 || s.NHeadKV != 2 || !s.Tied {
		t.Errorf("Lookup(Qwen2.5-0.5B) = %+v, %v", s, err)
	}
	if _, err := Lookup("gpt-5"); err == nil || !strings.Contains(err.Error(), "qwen2.5-0.5b") {
		t.Errorf("unknown name: error %v should list the known shapes", err)
	}
}

// TestVocabConsistent checks every shape's vocabulary as llama.cpp will read
// it: the real size, unique token texts, the 256 byte tokens, merges whose
// halves and results are earlier tokens, and special tokens at their ids.
func TestVocabConsistent(t *testing.T) {
	mergesChecked := map[int]bool{} // the merges depend only on the regular count
	for _, s := range Shapes() {
		t.Run(s.Name, func(t *testing.T) {
			v, err := buildVocab(s.Vocab, s.NVocab)
			if err != nil {
				t.Fatal(err)
			}
			if len(v.tokens) != s.NVocab || len(v.types) != s.NVocab {
				t.Fatalf("%d tokens, %d types, want %d", len(v.tokens), len(v.types), s.NVocab)
			}
			if len(v.merges) != s.Vocab.Regular-256 {
				t.Errorf("%d merges, want %d", len(v.merges), s.Vocab.Regular-256)
			}
			id := make(map[string]int, len(v.tokens))
			for i, tok := range v.tokens {
				if j, dup := id[tok]; dup {
					t.Fatalf("token %q at ids %d and %d", tok, j, i)
				}
				id[tok] = i
			}
			chars := byteChars()
			for b := 0; b < 256; b++ {
				if i, ok := id[string(chars[b])]; !ok || i >= 256 {
					t.Errorf("byte %#x: token %q at id %d, %v", b, string(chars[b]), i, ok)
				}
			}
			for r, m := range v.merges {
				if mergesChecked[s.Vocab.Regular] {
					break
				}
				left, right, ok := strings.Cut(m, " ")
				l, lok := id[left]
				rr, rok := id[right]
				res, resok := id[left+right]
				if !ok || !lok || !rok || !resok || res != 256+r || l >= res || rr >= res {
					t.Fatalf("merge %d %q: halves %d %v, %d %v, result %d %v", r, m, l, lok, rr, rok, res, resok)
				}
			}
			mergesChecked[s.Vocab.Regular] = true
			for _, sp := range s.Vocab.Special {
				wantType := int32(tokenUserDefined)
				if sp.Control {
					wantType = tokenControl
				}
				if v.tokens[sp.ID] != sp.Text || v.types[sp.ID] != wantType {
					t.Errorf("id %d: %q type %d, want %q type %d", sp.ID, v.tokens[sp.ID], v.types[sp.ID], sp.Text, wantType)
				}
			}
			for _, id := range []int{s.Vocab.BOS, s.Vocab.EOS, s.Vocab.PAD} {
				if id >= 0 && v.types[id] != tokenControl {
					t.Errorf("bos/eos/pad id %d is %q of type %d, want a control token", id, v.tokens[id], v.types[id])
				}
			}
		})
	}
}

// TestTinyShapesMatchSharedModels writes the tiny shapes and compares their
// tensors (names, types, dimensions) and hyperparameters with the shared
// test models llama.cpp quantized from the same shapes.
func TestTinyShapesMatchSharedModels(t *testing.T) {
	for _, tc := range []struct{ shape, ref, ft string }{
		{"tiny-qwen2", "syn-qwen2odd-q4_k_m", "Q4_K_M"},
		{"tiny-qwen2", "syn-qwen2odd-q8_0", "Q8_0"},
		{"tiny-qwen3moe", "syn-qwen3moe-q4_k_m", "Q4_K_M"},
		{"tiny-qwen3moe", "syn-qwen3moe-f32", "F32"},
		{"tiny-deepseek2", "../next/models/syn-deepseek2-q4_k_m", "Q4_K_M"},
		{"tiny-deepseek2", "../next/models/syn-deepseek2-q8_0", "Q8_0"},
		{"tiny-deepseek2", "../next/models/syn-deepseek2-f32", "F32"},
		{"tiny-qwen35", "../next/models/syn-qwen35-q4_k_m", "Q4_K_M"},
		{"tiny-qwen35", "../next/models/syn-qwen35-q8_0", "Q8_0"},
		{"tiny-qwen35", "../next/models/syn-qwen35-f32", "F32"},
	} {
		t.Run(filepath.Base(tc.ref), func(t *testing.T) {
			ref, err := gguf.Open(testdata.Path(t, "models", tc.ref+".gguf"))
			if err != nil {
				t.Fatal(err)
			}
			defer ref.Close()
			got := writeShape(t, tc.shape, tc.ft, 1)
			if diff := cmp.Diff(sortedTensors(ref), sortedTensors(got)); diff != "" {
				t.Errorf("tensors (-llama.cpp +synth):\n%s", diff)
			}
			for _, key := range []string{"embedding_length", "block_count", "feed_forward_length", "attention.head_count",
				"attention.head_count_kv", "rope.freq_base", "attention.layer_norm_rms_epsilon", "expert_count",
				"expert_used_count", "expert_feed_forward_length", "leading_dense_block_count", "attention.q_lora_rank",
				"attention.kv_lora_rank", "attention.key_length", "attention.value_length", "attention.key_length_mla",
				"attention.value_length_mla", "rope.dimension_count", "expert_shared_count", "expert_weights_scale",
				"expert_weights_norm", "expert_gating_func", "expert_group_count", "expert_group_used_count",
				"ssm.conv_kernel", "ssm.state_size", "ssm.group_count", "ssm.time_step_rank", "ssm.inner_size",
				"full_attention_interval"} {
				w, ok := ref.Get(ref.ArchKey(key))
				g, _ := got.Get(got.ArchKey(key))
				if ok && w != g {
					t.Errorf("%s = %v (%T), llama.cpp's file has %v (%T)", key, g, g, w, w)
				}
			}
			w, _ := ref.Get(ref.ArchKey("rope.dimension_sections"))
			g, _ := got.Get(got.ArchKey("rope.dimension_sections"))
			if diff := cmp.Diff(w, g); diff != "" {
				t.Errorf("rope.dimension_sections (-llama.cpp +synth):\n%s", diff)
			}
			for _, key := range []string{"general.architecture", "general.file_type", "tokenizer.ggml.model", "tokenizer.ggml.pre",
				"tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id"} {
				w, _ := ref.Get(key)
				g, _ := got.Get(key)
				if w != g {
					t.Errorf("%s = %v (%T), llama.cpp's file has %v (%T)", key, g, g, w, w)
				}
			}
		})
	}
}

// sortedTensors renders a file's tensors as sorted "name type dims" lines.
func sortedTensors(f *gguf.File) []string {
	var s []string
	for _, t := range f.Tensors {
		s = append(s, t.String())
	}
	slices.Sort(s)
	return s
}

// writeShape writes the named shape with recipe ft and opens it.
func writeShape(t *testing.T, name, ft string, seed uint64) *gguf.File {
	t.Helper()
	s, err := Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	typ, err := quantize.ParseFileType(ft)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), name+".gguf")
	if err := Write(path, s, Options{Type: typ, Seed: seed}); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestDeterministic(t *testing.T) {
	a := writeShape(t, "tiny-qwen3moe", "Q4_K_M", 7)
	b := writeShape(t, "tiny-qwen3moe", "Q4_K_M", 7)
	c := writeShape(t, "tiny-qwen3moe", "Q4_K_M", 8)
	for i, ta := range a.Tensors {
		if !bytes.Equal(ta.Data, b.Tensors[i].Data) {
			t.Errorf("%s differs between two writes with the same seed", ta.Name)
		}
	}
	w, _ := a.Tensor("blk.0.ffn_up_exps.weight")
	x, _ := c.Tensor("blk.0.ffn_up_exps.weight")
	if bytes.Equal(w.Data, x.Data) {
		t.Error("seeds 7 and 8 made the same weights")
	}
}

// TestLoadsAndTokenizes loads the tiny shapes with the model and tokenizer
// packages and checks that text round-trips through the vocabulary.
func TestLoadsAndTokenizes(t *testing.T) {
	for _, name := range []string{"tiny-qwen2", "tiny-qwen3moe", "tiny-deepseek2"} {
		f := writeShape(t, name, "Q4_K_M", 1)
		checkLoads(t, f, 1)
	}
}

// checkLoads binds f's weights and tokenizes text with special tokens.
func checkLoads(t *testing.T, f *gguf.File, minMerged int) {
	t.Helper()
	m, err := model.Load(f)
	if err != nil {
		t.Fatalf("model.Load: %v", err)
	}
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		t.Fatalf("tokenizer.FromGGUF: %v", err)
	}
	if tok.VocabSize() != m.NVocab {
		t.Errorf("tokenizer has %d tokens, token_embd %d rows", tok.VocabSize(), m.NVocab)
	}
	eos := string(tok.Piece(tok.EOS())) // <|im_end|>, <｜end▁of▁sentence｜>
	text := "The quick brown fox jumps over the lazy dog. 深度求索 reasons: 12+30=42" + eos
	ids, err := tok.Encode(text, false, true)
	if err != nil {
		t.Fatal(err)
	}
	if got := tok.Decode(ids); got != text {
		t.Errorf("Decode(Encode(%q)) = %q", text, got)
	}
	end, ok := tok.SpecialID(eos)
	if !ok || ids[len(ids)-1] != end || !tok.IsEOG(end) {
		t.Errorf("%s (id %d, %v) should end %v and end generation", eos, end, ok, ids)
	}
	merged := 0
	for _, id := range ids {
		if id >= 256 && len(tok.Piece(id)) > 1 {
			merged++
		}
	}
	if merged < minMerged {
		t.Errorf("only %d merged tokens in %v", merged, ids)
	}
}

// TestRealSizeQwen writes Qwen2.5-0.5B with its real 151,936-token
// vocabulary and checks that it loads, tokenizes with Qwen's special ids and
// is written in seconds.
func TestRealSizeQwen(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 380 MiB file")
	}
	start := time.Now()
	f := writeShape(t, "qwen2.5-0.5b", "Q4_K_M", 1)
	t.Logf("wrote qwen2.5-0.5b Q4_K_M (%d MiB) in %v", f.Size>>20, time.Since(start))
	checkLoads(t, f, 10)
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	for text, want := range map[string]int{"<|endoftext|>": 151643, "<|im_start|>": 151644, "<|im_end|>": 151645} {
		if id, ok := tok.SpecialID(text); !ok || id != want {
			t.Errorf("%s has id %d (%v), want %d", text, id, ok, want)
		}
	}
}
