package quantize

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/qilin-ai/qilin/quant"
)

// dense describes a dense transformer for tensorInfos.
type dense struct {
	arch                          string
	layers, embd, ff, q, kv, vocb int
	tied, bias                    bool
	experts                       int
}

// tensorInfos lists a model's tensors with GGUF names, as F32.
func (d dense) tensorInfos() []TensorInfo {
	E, V := uint64(d.embd), uint64(d.vocb)
	ts := []TensorInfo{
		{"token_embd.weight", quant.F32, []uint64{E, V}},
		{"output_norm.weight", quant.F32, []uint64{E}},
	}
	if !d.tied {
		ts = append(ts, TensorInfo{"output.weight", quant.F32, []uint64{E, V}})
	}
	for i := 0; i < d.layers; i++ {
		add := func(name string, dims ...uint64) {
			ts = append(ts, TensorInfo{fmt.Sprintf("blk.%d.%s", i, name), quant.F32, dims})
		}
		add("attn_norm.weight", E)
		add("attn_q.weight", E, uint64(d.q))
		add("attn_k.weight", E, uint64(d.kv))
		add("attn_v.weight", E, uint64(d.kv))
		add("attn_output.weight", uint64(d.q), E)
		if d.bias {
			add("attn_q.bias", uint64(d.q))
			add("attn_k.bias", uint64(d.kv))
			add("attn_v.bias", uint64(d.kv))
		}
		add("ffn_norm.weight", E)
		if d.experts > 0 {
			X := uint64(d.experts)
			add("ffn_gate_inp.weight", E, X)
			add("ffn_gate_exps.weight", E, uint64(d.ff), X)
			add("ffn_up_exps.weight", E, uint64(d.ff), X)
			add("ffn_down_exps.weight", uint64(d.ff), E, X)
		} else {
			add("ffn_gate.weight", E, uint64(d.ff))
			add("ffn_up.weight", E, uint64(d.ff))
			add("ffn_down.weight", uint64(d.ff), E)
		}
	}
	return ts
}

func (d dense) model() Model {
	heads := d.q / 64
	return Model{Arch: d.arch, NLayer: d.layers, NHead: heads, NHeadKV: d.kv / 64, NExpert: d.experts}
}

// role is a tensor name without its layer prefix, and the layer (-1: none).
func role(name string) (string, int) {
	l := layerOf(name)
	if l < 0 {
		return name, -1
	}
	_, rest, _ := strings.Cut(name[len("blk."):], ".")
	return rest, l
}

// roleTypes describes an expected mix: the type of each role; for roles in
// more the type of the layers in moreLayers; and before that, for roles in
// first, the type of the layers in firstLayers.
type roleTypes struct {
	types       map[string]quant.Type
	more        map[string]quant.Type
	moreLayers  []int
	first       map[string]quant.Type
	firstLayers []int
}

func (r roleTypes) want(name string) quant.Type {
	ro, l := role(name)
	if t, ok := r.first[ro]; ok && slices.Contains(r.firstLayers, l) {
		return t
	}
	if t, ok := r.more[ro]; ok && slices.Contains(r.moreLayers, l) {
		return t
	}
	if t, ok := r.types[ro]; ok {
		return t
	}
	return quant.F32 // norms and biases
}

// TestPlanQwen25HalfB checks the mixes of the real Qwen2.5-0.5B shape (896
// wide, 24 layers, tied output), whose 896-element rows are not whole K-quant
// super-blocks. The layers with more bits are the first and last three and
// every third between (llama.cpp's use_more_bits for 24 layers).
func TestPlanQwen25HalfB(t *testing.T) {
	m := dense{arch: "qwen2", layers: 24, embd: 896, ff: 4864, q: 896, kv: 128, vocb: 151936, tied: true, bias: true}
	more := []int{0, 1, 2, 5, 8, 11, 14, 17, 20, 21, 22, 23}
	all := func(typ quant.Type) map[string]quant.Type {
		return map[string]quant.Type{"token_embd.weight": typ, "attn_q.weight": typ, "attn_k.weight": typ,
			"attn_v.weight": typ, "attn_output.weight": typ, "ffn_gate.weight": typ, "ffn_up.weight": typ, "ffn_down.weight": typ}
	}
	with := func(m map[string]quant.Type, kv ...any) map[string]quant.Type {
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1].(quant.Type)
		}
		return m
	}
	for _, tc := range []struct {
		ft   FileType
		want roleTypes
	}{
		// Q4_K falls back to Q5_0 and Q6_K to Q8_0 on 896-wide rows; ffn_down
		// rows are 4864 = 19×256 wide and keep K-quants.
		{Q4_K_M, roleTypes{
			types: with(all(quant.Q5_0), "token_embd.weight", quant.Q8_0, "ffn_down.weight", quant.Q4_K),
			more:  map[string]quant.Type{"attn_v.weight": quant.Q8_0, "ffn_down.weight": quant.Q6_K}, moreLayers: more}},
		{Q5_K_M, roleTypes{
			types: with(all(quant.Q5_1), "token_embd.weight", quant.Q8_0, "ffn_down.weight", quant.Q5_K),
			more:  map[string]quant.Type{"attn_v.weight": quant.Q8_0, "ffn_down.weight": quant.Q6_K}, moreLayers: more}},
		// _S: attn_v of the first four and ffn_down of the first eighth get Q5_K.
		{Q4_K_S, roleTypes{
			types: with(all(quant.Q5_0), "token_embd.weight", quant.Q8_0, "ffn_down.weight", quant.Q4_K),
			first: map[string]quant.Type{"attn_v.weight": quant.Q5_1}, firstLayers: []int{0, 1, 2, 3},
			more: map[string]quant.Type{"ffn_down.weight": quant.Q5_K}, moreLayers: []int{0, 1, 2}}},
		{Q5_K_S, roleTypes{types: with(all(quant.Q5_1), "token_embd.weight", quant.Q8_0, "ffn_down.weight", quant.Q5_K)}},
		{Q6_K, roleTypes{types: with(all(quant.Q8_0), "ffn_down.weight", quant.Q6_K)}},
		{Q8_0, roleTypes{types: all(quant.Q8_0)}},
		{Q4_0, roleTypes{types: with(all(quant.Q4_0), "token_embd.weight", quant.Q8_0)}},
		{F16, roleTypes{types: all(quant.F16)}},
	} {
		t.Run(tc.ft.String(), func(t *testing.T) { checkPlan(t, tc.ft, m, tc.want) })
	}
}

// checkPlan compares PlanTensors with want.
func checkPlan(t *testing.T, ft FileType, d dense, want roleTypes) {
	t.Helper()
	ts := d.tensorInfos()
	got, err := PlanTensors(ft, d.model(), ts)
	if err != nil {
		t.Fatal(err)
	}
	var diffs []string
	for i, ti := range ts {
		if w := want.want(ti.Name); got[i] != w {
			diffs = append(diffs, fmt.Sprintf("%s: %v, want %v", ti.Name, got[i], w))
		}
	}
	if len(diffs) > 0 {
		t.Errorf("%s mix:\n%s", ft, strings.Join(diffs, "\n"))
	}
}

// TestPlanRules covers the rules the Qwen shape does not reach: untied
// output, 256-multiple rows, the Q3_K and Q2_K mixes, eight experts, Llama
// 70B and Falcon.
func TestPlanRules(t *testing.T) {
	eight := dense{arch: "llama", layers: 8, embd: 256, ff: 512, q: 256, kv: 64, vocb: 1000}
	// use_more_bits for 8 layers: 0, 7, and (i-1)%3 == 2: 3, 6.
	more8 := []int{0, 3, 6, 7}
	base := func(typ quant.Type) map[string]quant.Type {
		return map[string]quant.Type{"token_embd.weight": typ, "output.weight": quant.Q6_K, "attn_q.weight": typ,
			"attn_k.weight": typ, "attn_v.weight": typ, "attn_output.weight": typ, "ffn_gate.weight": typ,
			"ffn_up.weight": typ, "ffn_down.weight": typ}
	}
	set := func(m map[string]quant.Type, k string, v quant.Type) map[string]quant.Type { m[k] = v; return m }
	for _, tc := range []struct {
		name string
		ft   FileType
		d    dense
		want roleTypes
	}{
		{"Q4_K_M untied", Q4_K_M, eight, roleTypes{types: base(quant.Q4_K),
			more: map[string]quant.Type{"attn_v.weight": quant.Q6_K, "ffn_down.weight": quant.Q6_K}, moreLayers: more8}},
		{"Q3_K_M", Q3_K_M, eight, roleTypes{
			types: set(set(set(base(quant.Q3_K), "attn_output.weight", quant.Q4_K), "ffn_down.weight", quant.Q4_K), "attn_v.weight", quant.Q4_K),
			// attn_v of the first two layers; ffn_down of the first sixteenth (none of 8).
			more: map[string]quant.Type{"attn_v.weight": quant.Q5_K}, moreLayers: []int{0, 1}}},
		{"Q3_K_L", Q3_K_L, eight, roleTypes{
			types: set(set(set(base(quant.Q3_K), "attn_output.weight", quant.Q5_K), "ffn_down.weight", quant.Q5_K), "attn_v.weight", quant.Q5_K)}},
		{"Q3_K_S", Q3_K_S, eight, roleTypes{types: base(quant.Q3_K)}},
		// n_gqa = 4 / 1 >= 4: attn_v Q4_K.
		{"Q2_K", Q2_K, eight, roleTypes{
			types: set(set(set(base(quant.Q2_K), "attn_output.weight", quant.Q3_K), "ffn_down.weight", quant.Q3_K), "attn_v.weight", quant.Q4_K)}},
		{"Q2_K gqa 2", Q2_K, dense{arch: "llama", layers: 8, embd: 256, ff: 512, q: 256, kv: 128, vocb: 1000}, roleTypes{
			types: set(set(set(base(quant.Q2_K), "attn_output.weight", quant.Q3_K), "ffn_down.weight", quant.Q3_K), "attn_v.weight", quant.Q3_K)}},
		{"Q5_0 untied", Q5_0, eight, roleTypes{types: base(quant.Q5_0)}},
		{"Q8_0 untied", Q8_0, eight, roleTypes{types: set(base(quant.Q8_0), "output.weight", quant.Q8_0)}},
		// Eight experts: attn_k and attn_v Q8_0, attn_output Q5_K; ffn_down by
		// the layer in its name.
		{"Q4_K_M 8 experts", Q4_K_M, dense{arch: "qwen3moe", layers: 8, embd: 256, ff: 256, q: 256, kv: 128, vocb: 1000, experts: 8},
			roleTypes{types: set(set(set(set(set(set(base(quant.Q4_K), "attn_k.weight", quant.Q8_0), "attn_v.weight", quant.Q8_0),
				"attn_output.weight", quant.Q5_K), "ffn_gate_exps.weight", quant.Q4_K), "ffn_up_exps.weight", quant.Q4_K),
				"ffn_down_exps.weight", quant.Q4_K),
				more: map[string]quant.Type{"ffn_down_exps.weight": quant.Q6_K}, moreLayers: more8}},
		// Falcon: output Q8_0; ffn_down Q6_K below n/16, Q5_K on more-bits
		// layers (for 32: below 4, from 28, and 6, 9, ... 27).
		{"Q4_K_M falcon", Q4_K_M, dense{arch: "falcon", layers: 32, embd: 256, ff: 512, q: 256, kv: 64, vocb: 1000},
			roleTypes{types: set(base(quant.Q4_K), "output.weight", quant.Q8_0),
				first: map[string]quant.Type{"ffn_down.weight": quant.Q6_K}, firstLayers: []int{0, 1},
				more:       map[string]quant.Type{"attn_v.weight": quant.Q6_K, "ffn_down.weight": quant.Q5_K},
				moreLayers: []int{0, 1, 2, 3, 6, 9, 12, 15, 18, 21, 24, 27, 28, 29, 30, 31}}},
		// Llama 70B (80 layers, 64 heads over 8): attn_v Q5_K where Q4_K_M
		// would give Q4_K.
		{"Q4_K_M llama 70B", Q4_K_M, dense{arch: "llama", layers: 80, embd: 256, ff: 256, q: 64 * 64, kv: 8 * 64, vocb: 1000},
			roleTypes{types: set(base(quant.Q4_K), "attn_v.weight", quant.Q5_K),
				more: map[string]quant.Type{"attn_v.weight": quant.Q6_K, "ffn_down.weight": quant.Q6_K},
				// For 80 layers: below 10, from 70 and 12, 15, ... 69.
				moreLayers: []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 15, 18, 21, 24, 27, 30, 33, 36, 39, 42, 45, 48, 51, 54, 57, 60, 63, 66, 69,
					70, 71, 72, 73, 74, 75, 76, 77, 78, 79}}},
	} {
		t.Run(tc.name, func(t *testing.T) { checkPlan(t, tc.ft, tc.d, tc.want) })
	}
}

func TestPlanFallbacksAndErrors(t *testing.T) {
	ts := []TensorInfo{
		{"blk.0.attn_q.weight", quant.F32, []uint64{40, 8}},       // not whole 32-blocks: K-quants fall to F16
		{"blk.0.attn_k.weight", quant.F32, []uint64{64, 1}},       // a row vector counts as 1-D
		{"blk.0.ffn_gate_inp.weight", quant.F32, []uint64{64, 8}}, // routers stay
		{"blk.0.attn_q.bias", quant.F32, []uint64{64, 8}},         // not a weight
		{"blk.0.attn_v.weight", quant.F16, []uint64{96, 8}},       // Q4_K -> Q5_0
	}
	got, err := PlanTensors(Q4_K_M, Model{Arch: "llama", NLayer: 1, NHead: 1, NHeadKV: 1}, ts)
	if err != nil {
		t.Fatal(err)
	}
	want := []quant.Type{quant.F16, quant.F32, quant.F32, quant.F32, quant.Q8_0}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("types (-want +got):\n%s", diff)
	}
	// A 32-element format has no fallback.
	_, err = PlanTensors(Q8_0, Model{Arch: "llama", NLayer: 1}, ts[:1])
	if err == nil || !strings.Contains(err.Error(), "blk.0.attn_q.weight") {
		t.Errorf("Q8_0 of 40-wide rows: error %v, want one naming the tensor", err)
	}
	if _, err := PlanTensors(FileType(99), Model{}, ts); err == nil {
		t.Error("file type 99: no error")
	}
	// Expert tensors take their layer from the name.
	_, err = PlanTensors(Q4_K_M, Model{Arch: "qwen3moe", NLayer: 2, NExpert: 8},
		[]TensorInfo{{"blk.7.ffn_down_exps.weight", quant.F32, []uint64{256, 256, 8}}})
	if err == nil || !strings.Contains(err.Error(), "layer") {
		t.Errorf("expert tensor of layer 7 of 2: error %v", err)
	}
}

func TestParseFileType(t *testing.T) {
	for name, want := range map[string]FileType{"Q4_K_M": Q4_K_M, "q4_k_m": Q4_K_M, "Q4_K": Q4_K_M, "q5_k": Q5_K_M,
		"Q3_K": Q3_K_M, "Q8_0": Q8_0, "bf16": BF16, " F16 ": F16, "Q6_K": Q6_K, "Q4_K_S": Q4_K_S} {
		got, err := ParseFileType(name)
		if err != nil || got != want {
			t.Errorf("ParseFileType(%q) = %v, %v; want %v", name, got, err, want)
		}
	}
	_, err := ParseFileType("Q4_K_XL")
	if err == nil || !strings.Contains(err.Error(), "Q4_K_M") || !strings.Contains(err.Error(), "Q8_0") {
		t.Errorf("unknown name: error %v should list the valid names", err)
	}
	for _, ft := range []FileType{Q4_K_M, Q8_0, BF16} {
		if back, err := ParseFileType(ft.String()); err != nil || back != ft {
			t.Errorf("%v does not round-trip through its name", ft)
		}
	}
}
