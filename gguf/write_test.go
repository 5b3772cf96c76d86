package gguf

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/qilin-ai/qilin/quant"
)

// allKinds is metadata with a value of every GGUF type, arrays of each,
// empty arrays and nested arrays.
func allKinds() []KV {
	return []KV{
		{"general.architecture", "llama"},
		{"general.name", "tiny 🦙 model"},
		{"general.file_type", uint32(7)},
		{"u8", uint8(200)},
		{"i8", int8(-100)},
		{"u16", uint16(60000)},
		{"i16", int16(-30000)},
		{"u32", uint32(4000000000)},
		{"i32", int32(-2000000000)},
		{"u64", uint64(math.MaxUint64)},
		{"i64", int64(math.MinInt64)},
		{"f32", float32(-1.5)},
		{"f64", math.Pi},
		{"t", true},
		{"f", false},
		{"empty", ""},
		{"a.u8", []uint8{0, 1, 255}},
		{"a.i8", []int8{-128, 0, 127}},
		{"a.u16", []uint16{1, 65535}},
		{"a.i16", []int16{-32768, 5}},
		{"a.u32", []uint32{7, 8, 9}},
		{"a.i32", []int32{-1, 0, 1}},
		{"a.u64", []uint64{1 << 40}},
		{"a.i64", []int64{-1 << 40, 3}},
		{"a.f32", []float32{0.5, -2, 1e30}},
		{"a.f64", []float64{1e300, -0.25}},
		{"a.bool", []bool{true, false, true}},
		{"a.str", []string{"<s>", "", "▁hello", "\x00\xff"}},
		{"a.empty", []string{}},
		{"a.nested", []any{[]int32{1, 2}, []string{"x"}, []any{[]bool{true}}, []any{}}},
		{"llama.block_count", uint32(2)},
		{"llama.context_length", uint32(128)},
		{"tokenizer.ggml.tokens", []string{"a", "b", "c", "d"}},
	}
}

// tinyFile writes a small model-shaped file: the metadata of allKinds and
// three tensors (F32, F16 and Q8_0, the last with two rows).
func tinyFile(t testing.TB, extra ...KV) []byte {
	t.Helper()
	w := NewWriter()
	for _, kv := range append(allKinds(), extra...) {
		w.SetKV(kv.Key, kv.Value)
	}
	for _, tn := range tinyTensors() {
		if err := w.AddTensor(tn.Name, tn.Type, tn.Dims, tn.Data); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	n, err := w.WriteTo(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(buf.Len()) {
		t.Fatalf("WriteTo returned %d, wrote %d", n, buf.Len())
	}
	return buf.Bytes()
}

func tinyTensors() []*Tensor {
	seq := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(i*7 + 3)
		}
		return b
	}
	return []*Tensor{
		{Name: "token_embd.weight", Type: quant.F32, Dims: []uint64{3, 4}, Data: seq(48)},
		{Name: "output_norm.weight", Type: quant.F16, Dims: []uint64{3}, Data: seq(6)},
		{Name: "blk.0.attn_q.weight", Type: quant.Q8_0, Dims: []uint64{32, 2}, Data: seq(68)},
	}
}

func TestWriteRoundTrip(t *testing.T) {
	for _, align := range []int{0, 1, 8, 64, 4096} {
		var extra []KV
		if align != 0 {
			extra = append(extra, KV{"general.alignment", uint32(align)})
		}
		data := tinyFile(t, extra...)
		f, err := Parse(data)
		if err != nil {
			t.Fatalf("alignment %d: %v", align, err)
		}
		wantAlign := align
		if align == 0 {
			wantAlign = DefaultAlignment
		}
		if f.Alignment != wantAlign || f.Version != 3 {
			t.Errorf("Alignment %d Version %d, want %d and 3", f.Alignment, f.Version, wantAlign)
		}
		if diff := cmp.Diff(append(allKinds(), extra...), f.KV); diff != "" {
			t.Errorf("alignment %d: KV mismatch (-want +got):\n%s", align, diff)
		}
		want := tinyTensors()
		for i, tn := range f.Tensors {
			want[i].Offset = tn.Offset // checked below
			if tn.Offset%uint64(wantAlign) != 0 || f.DataOffset%int64(wantAlign) != 0 {
				t.Errorf("tensor %s at %d+%d, not aligned to %d", tn.Name, f.DataOffset, tn.Offset, wantAlign)
			}
		}
		if diff := cmp.Diff(want, f.Tensors); diff != "" {
			t.Errorf("alignment %d: tensors mismatch (-want +got):\n%s", align, diff)
		}
		checkLayout(t, f, int64(len(data)))
	}
}

func TestWriterNormalizesInts(t *testing.T) {
	w := NewWriter()
	w.SetKV("small", 5)
	w.SetKV("big", 1<<40)
	w.SetKV("usmall", uint(5))
	w.SetKV("ubig", uint(1<<40))
	w.SetKV("arr", []int{1, -2})
	w.SetKV("arrbig", []int{1, 1 << 40})
	w.SetKV("uarr", []uint{1, 2})
	w.SetKV("nested", []any{[]int{3}})
	w.SetKV("small", 6) // replaces in place, keeps order
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	f, err := Parse(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	want := []KV{
		{"small", int32(6)}, {"big", int64(1 << 40)}, {"usmall", uint32(5)}, {"ubig", uint64(1 << 40)},
		{"arr", []int32{1, -2}}, {"arrbig", []int64{1, 1 << 40}}, {"uarr", []uint32{1, 2}},
		{"nested", []any{[]int32{3}}},
	}
	if diff := cmp.Diff(want, f.KV); diff != "" {
		t.Errorf("KV mismatch (-want +got):\n%s", diff)
	}
}

func TestWriterErrors(t *testing.T) {
	tests := []struct {
		name string
		kv   KV
		add  func(w *Writer) error
	}{
		{name: "unsupported value", kv: KV{"k", struct{}{}}},
		{name: "unsupported element", kv: KV{"k", []any{[]int32{1}, "x"}}},
		{name: "map value", kv: KV{"k", map[string]int{}}},
		{name: "bad alignment", kv: KV{"general.alignment", uint32(48)}},
		{name: "zero alignment", kv: KV{"general.alignment", uint32(0)}},
		{name: "string alignment", kv: KV{"general.alignment", "32"}},
		{name: "size mismatch", add: func(w *Writer) error { return w.AddTensor("x", quant.F32, []uint64{4}, make([]byte, 15)) }},
		{name: "partial block", add: func(w *Writer) error { return w.AddTensor("x", quant.Q8_0, []uint64{16}, make([]byte, 17)) }},
		{name: "unknown type", add: func(w *Writer) error { return w.AddTensor("x", quant.Type(99), []uint64{1}, make([]byte, 1)) }},
		{name: "five dims", add: func(w *Writer) error { return w.AddTensor("x", quant.I8, []uint64{1, 1, 1, 1, 1}, make([]byte, 1)) }},
		{name: "duplicate", add: func(w *Writer) error {
			if err := w.AddTensor("x", quant.I8, []uint64{1}, make([]byte, 1)); err != nil {
				return nil // not the error under test; the check below fails
			}
			return w.AddTensor("x", quant.I8, []uint64{1}, make([]byte, 1))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := NewWriter()
			if tt.add != nil {
				if err := tt.add(w); err == nil {
					t.Errorf("AddTensor succeeded")
				} else {
					t.Log(err)
				}
				return
			}
			w.SetKV(tt.kv.Key, tt.kv.Value)
			if _, err := w.WriteTo(&bytes.Buffer{}); err == nil {
				t.Errorf("WriteTo succeeded")
			} else {
				t.Log(err)
			}
		})
	}
}

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.gguf")
	if err := os.WriteFile(path, []byte("old contents"), 0o644); err != nil {
		t.Fatal(err)
	}
	w := NewWriter()
	w.SetKV("general.architecture", "llama")
	if err := w.AddTensor("x", quant.F32, []uint64{2}, make([]byte, 8)); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Arch() != "llama" || len(f.Tensors) != 1 {
		t.Errorf("arch %q, %d tensors", f.Arch(), len(f.Tensors))
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries after WriteFile, want 1 (temporary file left behind?)", len(entries))
	}
	if err := w.WriteFile(filepath.Join(dir, "missing", "m.gguf")); err == nil {
		t.Errorf("WriteFile into a missing directory succeeded")
	}
}
