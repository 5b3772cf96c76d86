package model

import (
	"bytes"
	"strings"
	"testing"

	"github.com/qilin-ai/qilin/gguf"
)

// withKV rewrites the GGUF file data with key set to value (nil: removed).
func withKV(t *testing.T, data []byte, key string, value any) *gguf.File {
	t.Helper()
	src, err := gguf.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	w := gguf.NewWriter()
	set := false
	for _, kv := range src.KV {
		if kv.Key == key {
			kv.Value, set = value, true
		}
		if kv.Value != nil {
			w.SetKV(kv.Key, kv.Value)
		}
	}
	if !set && value != nil {
		w.SetKV(key, value)
	}
	for _, tn := range src.Tensors {
		if err := w.AddTensor(tn.Name, tn.Type, tn.Dims, tn.Data); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Parse(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestQwen35BadMetadata: hostile or inconsistent hybrid metadata is a
// clear error from Load, never a panic or an absurd allocation; the layer
// flags of attention.recurrent_layers override full_attention_interval.
func TestQwen35BadMetadata(t *testing.T) {
	s := tinySpecs[11]
	data := writeTiny(t, s, 7)
	for _, tc := range []struct {
		key   string
		value any
		want  string
	}{
		{"qwen35.ssm.conv_kernel", uint32(0), "conv_kernel"},
		{"qwen35.ssm.time_step_rank", uint32(3), "time_step_rank"},
		{"qwen35.ssm.inner_size", uint32(100), "inner_size"},
		{"qwen35.ssm.state_size", uint32(1 << 16), "too large"},
		{"qwen35.ssm.group_count", nil, "missing metadata key qwen35.ssm.group_count"},
		{"qwen35.nextn_predict_layers", uint32(9), "nextn_predict_layers"},
		{"qwen35.full_attention_interval", uint32(0), "full_attention_interval"},
		{"qwen35.attention.recurrent_layers", []bool{true, false}, "recurrent_layers must be 9 flags"},
		{"qwen35.attention.recurrent_layers", []string{"a"}, "recurrent_layers"},
	} {
		f := withKV(t, data, tc.key, tc.value)
		if _, err := Load(f); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s = %v: Load error %v, want one mentioning %q", tc.key, tc.value, err, tc.want)
		}
	}
	// Flags say layer 3 is recurrent and 0 attention: the tensors, written
	// for the interval, no longer match.
	flags := []int32{0, 1, 1, 1, 1, 1, 1, 0, 0}
	if _, err := Load(withKV(t, data, "qwen35.attention.recurrent_layers", flags)); err == nil || !strings.Contains(err.Error(), "blk.0.") {
		t.Errorf("recurrent_layers %v: Load error %v, want a missing blk.0 tensor", flags, err)
	}
	flags = []int32{1, 1, 1, 0, 1, 1, 1, 0, 0}
	m, err := Load(withKV(t, data, "qwen35.attention.recurrent_layers", flags))
	if err != nil {
		t.Fatal(err)
	}
	if p := m.LayerPattern(); p != "RRRARRRA" {
		t.Errorf("layer pattern %q, want RRRARRRA (8 trunk layers, the MTP block not run)", p)
	}
}
