package gguf

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestAccessors(t *testing.T) {
	f, err := Parse(tinyFile(t))
	if err != nil {
		t.Fatal(err)
	}
	type got struct {
		S    string
		U    uint64
		I    int64
		F    float64
		B    bool
		Ss   []string
		F32s []float32
		I32s []int32
	}
	tests := []struct {
		key  string
		want got
	}{
		// defaults: S "def", U 11, I -11, F 0.5, B true
		{"missing", got{S: "def", U: 11, I: -11, F: 0.5, B: true}},
		{"general.name", got{S: "tiny 🦙 model", U: 11, I: -11, F: 0.5, B: true}},
		{"u8", got{S: "def", U: 200, I: 200, F: 200, B: true}},
		{"i8", got{S: "def", U: 11, I: -100, F: -100, B: true}},
		{"u16", got{S: "def", U: 60000, I: 60000, F: 60000, B: true}},
		{"i16", got{S: "def", U: 11, I: -30000, F: -30000, B: true}},
		{"u32", got{S: "def", U: 4000000000, I: 4000000000, F: 4e9, B: true}},
		{"i32", got{S: "def", U: 11, I: -2000000000, F: -2e9, B: true}},
		{"u64", got{S: "def", U: math.MaxUint64, I: -11, F: math.MaxUint64, B: true}},
		{"i64", got{S: "def", U: 11, I: math.MinInt64, F: math.MinInt64, B: true}},
		{"f32", got{S: "def", U: 11, I: -11, F: -1.5, B: true}},
		{"f64", got{S: "def", U: 11, I: -11, F: math.Pi, B: true}},
		{"f", got{S: "def", U: 11, I: -11, F: 0.5, B: false}},
		{"a.str", got{S: "def", U: 11, I: -11, F: 0.5, B: true, Ss: []string{"<s>", "", "▁hello", "\x00\xff"}}},
		{"a.f32", got{S: "def", U: 11, I: -11, F: 0.5, B: true, F32s: []float32{0.5, -2, 1e30}}},
		{"a.f64", got{S: "def", U: 11, I: -11, F: 0.5, B: true, F32s: []float32{float32(math.Inf(1)), -0.25}}},
		{"a.i32", got{S: "def", U: 11, I: -11, F: 0.5, B: true, F32s: []float32{-1, 0, 1}, I32s: []int32{-1, 0, 1}}},
		{"a.u8", got{S: "def", U: 11, I: -11, F: 0.5, B: true, F32s: []float32{0, 1, 255}, I32s: []int32{0, 1, 255}}},
		{"a.i64", got{S: "def", U: 11, I: -11, F: 0.5, B: true, F32s: []float32{-1 << 40, 3}}}, // does not fit int32
		{"a.u32", got{S: "def", U: 11, I: -11, F: 0.5, B: true, F32s: []float32{7, 8, 9}, I32s: []int32{7, 8, 9}}},
		{"a.bool", got{S: "def", U: 11, I: -11, F: 0.5, B: true}},
		{"a.nested", got{S: "def", U: 11, I: -11, F: 0.5, B: true}},
	}
	for _, tt := range tests {
		g := got{
			S: f.String(tt.key, "def"), U: f.Uint(tt.key, 11), I: f.Int(tt.key, -11), F: f.Float(tt.key, 0.5),
			B: f.Bool(tt.key, true), Ss: f.Strings(tt.key), F32s: f.Float32s(tt.key), I32s: f.Int32s(tt.key),
		}
		if diff := cmp.Diff(tt.want, g); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.key, diff)
		}
	}
	if v, ok := f.Get("a.u16"); !ok || !cmp.Equal(v, []uint16{1, 65535}) {
		t.Errorf("Get(a.u16) = %v, %v", v, ok)
	}
	if f.Arch() != "llama" || f.ArchKey("context_length") != "llama.context_length" {
		t.Errorf("Arch %q ArchKey %q", f.Arch(), f.ArchKey("context_length"))
	}
	if tn, ok := f.Tensor("blk.0.attn_q.weight"); !ok || tn.NumElements() != 64 || tn.Rows() != 2 {
		t.Errorf("Tensor(blk.0.attn_q.weight) = %v, %v", tn, ok)
	}
	if _, ok := f.Tensor("nope"); ok {
		t.Errorf("Tensor(nope) found")
	}
	if err := f.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

func TestTensorShape(t *testing.T) {
	tests := []struct {
		dims  []uint64
		elems int64
		rows  int
	}{
		{nil, 1, 1},
		{[]uint64{7}, 7, 1},
		{[]uint64{7, 3}, 21, 3},
		{[]uint64{2, 3, 4, 5}, 120, 60},
		{[]uint64{4, 0}, 0, 0},
	}
	for _, tt := range tests {
		tn := &Tensor{Dims: tt.dims}
		if tn.NumElements() != tt.elems || tn.Rows() != tt.rows {
			t.Errorf("dims %v: NumElements %d Rows %d, want %d %d", tt.dims, tn.NumElements(), tn.Rows(), tt.elems, tt.rows)
		}
	}
}

func TestOpenModes(t *testing.T) {
	data := tinyFile(t)
	path := filepath.Join(t.TempDir(), "tiny.gguf")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	want, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	for _, opts := range []Options{{}, {NoMmap: true}} {
		f, err := OpenWith(path, opts)
		if err != nil {
			t.Fatalf("%+v: %v", opts, err)
		}
		if wantMapped := mmapSupported && !opts.NoMmap; f.mapped != wantMapped {
			t.Errorf("%+v: mapped = %v, want %v", opts, f.mapped, wantMapped)
		}
		if diff := cmp.Diff(want, f, cmp.AllowUnexported(File{}), cmp.FilterPath(func(p cmp.Path) bool {
			sf, ok := p.Last().(cmp.StructField)
			return ok && (sf.Name() == "closers" || sf.Name() == "mapped")
		}, cmp.Ignore())); diff != "" {
			t.Errorf("%+v: Open differs from Parse (-want +got):\n%s", opts, diff)
		}
		if err := f.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if err := f.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
	}
	if _, err := Open(filepath.Join(t.TempDir(), "missing.gguf")); err == nil {
		t.Errorf("Open of a missing file succeeded")
	}
	if _, err := Open(t.TempDir()); err == nil {
		t.Errorf("Open of a directory succeeded")
	}
	empty := filepath.Join(t.TempDir(), "empty.gguf")
	os.WriteFile(empty, nil, 0o644)
	if _, err := Open(empty); err == nil {
		t.Errorf("Open of an empty file succeeded")
	}
}

func TestFileTypeName(t *testing.T) {
	tests := []struct {
		value any // nil: key absent
		want  string
	}{
		{nil, ""},
		{uint32(0), "F32"},
		{uint32(1), "F16"},
		{uint32(7), "Q8_0"},
		{int32(15), "Q4_K_M"},
		{uint32(12), "Q3_K_M"},
		{uint32(18), "Q6_K"},
		{uint32(32), "BF16"},
		{uint32(1024 + 15), "Q4_K_M"},
		{uint32(5), "ftype(5)"},
		{uint32(999), "ftype(999)"},
		{"Q4_K_M", "ftype(Q4_K_M)"},
	}
	for _, tt := range tests {
		w := NewWriter()
		if tt.value != nil {
			w.SetKV("general.file_type", tt.value)
		}
		var buf bytes.Buffer
		if _, err := w.WriteTo(&buf); err != nil {
			t.Fatal(err)
		}
		f, err := Parse(buf.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		if got := f.FileTypeName(); got != tt.want {
			t.Errorf("general.file_type %v: FileTypeName() = %q, want %q", tt.value, got, tt.want)
		}
	}
}
