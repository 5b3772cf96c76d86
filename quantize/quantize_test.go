package quantize

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/qilin-ai/qilin/gguf"
	"github.com/qilin-ai/qilin/quant"
)

// writeModel writes d's tensors with uniform random values in [-1, 1)
// (norms 1), encoded as src, and returns the path.
func writeModel(t testing.TB, d dense, src quant.Type) string {
	t.Helper()
	w := gguf.NewWriter()
	w.SetKV("general.architecture", d.arch)
	w.SetKV("general.name", "tiny "+d.arch)
	w.SetKV("general.file_type", uint32(0))
	w.SetKV(d.arch+".block_count", uint32(d.layers))
	w.SetKV(d.arch+".embedding_length", uint32(d.embd))
	w.SetKV(d.arch+".attention.head_count", uint32(d.q/64))
	w.SetKV(d.arch+".attention.head_count_kv", uint32(d.kv/64))
	if d.experts > 0 {
		w.SetKV(d.arch+".expert_count", uint32(d.experts))
	}
	w.SetKV("tokenizer.ggml.tokens", []string{"a", "b"})
	r := rand.New(rand.NewPCG(1, 2))
	for _, ti := range d.tensorInfos() {
		n := 1
		for _, x := range ti.Dims {
			n *= int(x)
		}
		vals := make([]float32, n)
		for i := range vals {
			vals[i] = 2*r.Float32() - 1
		}
		typ := quant.F32
		if nDims(ti.Dims) > 1 {
			typ = src
		}
		rb, err := typ.RowSize(int(ti.Dims[0]))
		if err != nil {
			t.Fatal(err)
		}
		data := make([]byte, rb*n/int(ti.Dims[0]))
		if err := quant.Quantize(typ, vals, data); err != nil {
			t.Fatal(err)
		}
		if err := w.AddTensor(ti.Name, typ, ti.Dims, data); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), "in.gguf")
	if err := w.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	return path
}

func openFile(t *testing.T, path string) *gguf.File {
	t.Helper()
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// rmseBound is the relative RMS error of a uniform quantizer with the
// format's step on data uniform in a block's [-max, max]: the step is
// 2/(levels-1) of the range for asymmetric formats and max/levels/2 for
// symmetric ones, and the error, uniform over a step, has RMS step/sqrt(12),
// against the data's RMS of max/sqrt(3); 10% is added for the clipped top
// level of the symmetric formats and for rounded block scales. F16 and BF16
// round to half a unit in the last place.
var rmseBound = map[quant.Type]float64{
	quant.Q8_0: 1.1 * (1.0 / 127) / 2, quant.Q6_K: 1.1 * (1.0 / 32) / 2, quant.Q5_0: 1.1 * (1.0 / 16) / 2,
	quant.Q4_0: 1.1 * (1.0 / 8) / 2, quant.Q3_K: 1.1 * (1.0 / 4) / 2,
	quant.Q5_1: 1.1 * (2.0 / 31) / 2, quant.Q5_K: 1.1 * (2.0 / 31) / 2, quant.Q4_1: 1.1 * (2.0 / 15) / 2,
	quant.Q4_K: 1.1 * (2.0 / 15) / 2, quant.Q2_K: 1.1 * (2.0 / 3) / 2,
	quant.F16: 1.0 / 2048, quant.BF16: 1.0 / 256, quant.F32: 0,
}

// TestFileMixAndError quantizes tiny models with realistic tensor names,
// checks each tensor's type against llama.cpp's rules and its round-trip
// error against the format's bound.
func TestFileMixAndError(t *testing.T) {
	for _, tc := range []struct {
		name string
		d    dense
		ft   FileType
		want roleTypes
	}{
		// 896 wide, as Qwen2.5-0.5B: K-quants fall back; four layers get more
		// bits on 2 and 3 (i >= 7*4/8, (i-0)%3 == 2).
		{"896 wide Q4_K_M", dense{arch: "qwen2", layers: 4, embd: 896, ff: 512, q: 896, kv: 128, vocb: 64, tied: true, bias: true}, Q4_K_M,
			roleTypes{types: map[string]quant.Type{"token_embd.weight": quant.Q8_0, "attn_q.weight": quant.Q5_0, "attn_k.weight": quant.Q5_0,
				"attn_v.weight": quant.Q5_0, "attn_output.weight": quant.Q5_0, "ffn_gate.weight": quant.Q5_0, "ffn_up.weight": quant.Q5_0,
				"ffn_down.weight": quant.Q4_K},
				more: map[string]quant.Type{"attn_v.weight": quant.Q8_0, "ffn_down.weight": quant.Q6_K}, moreLayers: []int{2, 3}}},
		{"256 wide Q5_K_M", dense{arch: "llama", layers: 4, embd: 256, ff: 512, q: 256, kv: 64, vocb: 64}, Q5_K_M,
			roleTypes{types: map[string]quant.Type{"token_embd.weight": quant.Q5_K, "output.weight": quant.Q6_K, "attn_q.weight": quant.Q5_K,
				"attn_k.weight": quant.Q5_K, "attn_v.weight": quant.Q5_K, "attn_output.weight": quant.Q5_K, "ffn_gate.weight": quant.Q5_K,
				"ffn_up.weight": quant.Q5_K, "ffn_down.weight": quant.Q5_K},
				more: map[string]quant.Type{"attn_v.weight": quant.Q6_K, "ffn_down.weight": quant.Q6_K}, moreLayers: []int{2, 3}}},
		{"Q8_0", dense{arch: "llama", layers: 2, embd: 256, ff: 512, q: 256, kv: 64, vocb: 64}, Q8_0,
			roleTypes{types: map[string]quant.Type{"token_embd.weight": quant.Q8_0, "output.weight": quant.Q8_0, "attn_q.weight": quant.Q8_0,
				"attn_k.weight": quant.Q8_0, "attn_v.weight": quant.Q8_0, "attn_output.weight": quant.Q8_0, "ffn_gate.weight": quant.Q8_0,
				"ffn_up.weight": quant.Q8_0, "ffn_down.weight": quant.Q8_0}}},
		{"Q4_0 and Q6_K", dense{arch: "llama", layers: 2, embd: 256, ff: 256, q: 256, kv: 64, vocb: 64}, Q4_0,
			roleTypes{types: map[string]quant.Type{"token_embd.weight": quant.Q4_0, "output.weight": quant.Q6_K, "attn_q.weight": quant.Q4_0,
				"attn_k.weight": quant.Q4_0, "attn_v.weight": quant.Q4_0, "attn_output.weight": quant.Q4_0, "ffn_gate.weight": quant.Q4_0,
				"ffn_up.weight": quant.Q4_0, "ffn_down.weight": quant.Q4_0}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := openFile(t, writeModel(t, tc.d, quant.F32))
			out := filepath.Join(t.TempDir(), "out.gguf")
			res, err := File(context.Background(), in, out, Options{Type: tc.ft})
			if err != nil {
				t.Fatal(err)
			}
			got := openFile(t, out)
			if len(got.Tensors) != len(in.Tensors) || len(res.Tensors) != len(in.Tensors) {
				t.Fatalf("%d tensors in, %d out, %d reported", len(in.Tensors), len(got.Tensors), len(res.Tensors))
			}
			worst := map[quant.Type]float64{}
			for i, gt := range got.Tensors {
				if w := tc.want.want(gt.Name); gt.Type != w {
					t.Errorf("%s: %v, want %v", gt.Name, gt.Type, w)
				}
				if res.Tensors[i].Name != gt.Name || res.Tensors[i].To != gt.Type || res.Tensors[i].OutBytes != int64(len(gt.Data)) {
					t.Errorf("result %+v does not describe %s", res.Tensors[i], gt)
				}
				src, _ := in.Tensor(gt.Name)
				e := relRMSE(t, src, gt)
				worst[gt.Type] = max(worst[gt.Type], e)
				if e > rmseBound[gt.Type] {
					t.Errorf("%s as %v: relative RMS error %.5f above the bound %.5f", gt.Name, gt.Type, e, rmseBound[gt.Type])
				}
			}
			for typ, e := range worst {
				t.Logf("%v: worst relative RMS error %.5f (bound %.5f)", typ, e, rmseBound[typ])
			}
			if got.FileTypeName() != tc.ft.String() || got.Uint("general.quantization_version", 0) != 2 {
				t.Errorf("file type %q, quantization version %d", got.FileTypeName(), got.Uint("general.quantization_version", 0))
			}
			if got.String("general.name", "") != "tiny "+tc.d.arch || len(got.Strings("tokenizer.ggml.tokens")) != 2 {
				t.Error("metadata was not copied")
			}
		})
	}
}

// relRMSE returns the RMS difference of two tensors' values relative to the
// RMS of a's.
func relRMSE(t *testing.T, a, b *gguf.Tensor) float64 {
	t.Helper()
	va, vb := values(t, a), values(t, b)
	var se, ss float64
	for i := range va {
		d := float64(va[i] - vb[i])
		se += d * d
		ss += float64(va[i]) * float64(va[i])
	}
	return math.Sqrt(se / ss)
}

func values(t *testing.T, tn *gguf.Tensor) []float32 {
	t.Helper()
	v := make([]float32, tn.NumElements())
	if err := quant.Dequantize(tn.Type, tn.Data, v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestFileRequantize(t *testing.T) {
	d := dense{arch: "llama", layers: 2, embd: 256, ff: 256, q: 256, kv: 64, vocb: 64}
	in := openFile(t, writeModel(t, d, quant.Q8_0))
	dir := t.TempDir()
	out := filepath.Join(dir, "out.gguf")
	_, err := File(context.Background(), in, out, Options{Type: Q4_K_M})
	if err == nil || !strings.Contains(err.Error(), "already quantized") || !strings.Contains(err.Error(), "allow-requantize") {
		t.Fatalf("Q8_0 source without AllowRequantize: error %v", err)
	}
	assertEmptyDir(t, dir)

	if _, err := File(context.Background(), in, out, Options{Type: Q4_K_M, AllowRequantize: true}); err != nil {
		t.Fatal(err)
	}
	got := openFile(t, out)
	w, _ := got.Tensor("blk.0.attn_q.weight")
	if w.Type != quant.Q4_K {
		t.Errorf("attn_q: %v, want Q4_K", w.Type)
	}
	// A Q8_0 recipe keeps Q8_0 tensors byte for byte.
	out8 := filepath.Join(dir, "out8.gguf")
	if _, err := File(context.Background(), in, out8, Options{Type: Q8_0}); err != nil {
		t.Fatalf("Q8_0 to Q8_0 needs no requantization: %v", err)
	}
	g8 := openFile(t, out8)
	for i, tn := range in.Tensors {
		o, _ := g8.Tensor(tn.Name)
		if o.Type != tn.Type || !bytes.Equal(o.Data, tn.Data) {
			t.Errorf("tensor %d %s changed in a Q8_0 to Q8_0 copy", i, tn.Name)
		}
	}
	// F16 and BF16 sources need no permission.
	for _, src := range []quant.Type{quant.F16, quant.BF16} {
		in := openFile(t, writeModel(t, d, src))
		if _, err := File(context.Background(), in, filepath.Join(dir, "h.gguf"), Options{Type: Q4_K_M}); err != nil {
			t.Errorf("%v source: %v", src, err)
		}
	}
}

func TestFileBadInput(t *testing.T) {
	d := dense{arch: "llama", layers: 1, embd: 64, ff: 64, q: 64, kv: 64, vocb: 8}
	path := writeModel(t, d, quant.F32)
	// Poison one weight with NaN.
	in := openFile(t, path)
	w := gguf.NewWriter()
	for _, kv := range in.KV {
		w.SetKV(kv.Key, kv.Value)
	}
	for _, tn := range in.Tensors {
		data := tn.Data
		if tn.Name == "blk.0.ffn_up.weight" {
			data = bytes.Clone(data)
			copy(data[4*64*3:], []byte{0, 0, 0xc0, 0x7f}) // row 3: NaN
		}
		if err := w.AddTensor(tn.Name, tn.Type, tn.Dims, data); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	nan := filepath.Join(dir, "nan.gguf")
	if err := w.WriteFile(nan); err != nil {
		t.Fatal(err)
	}
	outDir := t.TempDir()
	_, err := File(context.Background(), openFile(t, nan), filepath.Join(outDir, "o.gguf"), Options{Type: Q8_0})
	if err == nil || !strings.Contains(err.Error(), "blk.0.ffn_up.weight") || !strings.Contains(err.Error(), "row 3") {
		t.Errorf("NaN weight: error %v, want one naming the tensor and row", err)
	}
	assertEmptyDir(t, outDir)

	if _, err := File(context.Background(), in, filepath.Join(outDir, "o.gguf"), Options{Type: FileType(77)}); err == nil {
		t.Error("unknown file type: no error")
	}
	if _, err := File(context.Background(), in, filepath.Join(outDir, "missing", "o.gguf"), Options{Type: Q8_0}); err == nil {
		t.Error("output in a missing directory: no error")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := File(ctx, in, filepath.Join(outDir, "o.gguf"), Options{Type: Q8_0}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: error %v", err)
	}
	assertEmptyDir(t, outDir)
}

func assertEmptyDir(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		t.Errorf("%s left behind in the output directory", e.Name())
	}
}

// TestWriteGGUFLayout checks that the streaming writer produces exactly the
// bytes gguf.Writer produces from the same tensors held in memory, with the
// default and a larger alignment.
func TestWriteGGUFLayout(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, align := range []uint32{0, 64} {
		var kv []gguf.KV
		kv = append(kv, gguf.KV{Key: "general.architecture", Value: "llama"})
		if align > 0 {
			kv = append(kv, gguf.KV{Key: "general.alignment", Value: align})
		}
		w := gguf.NewWriter()
		for _, e := range kv {
			w.SetKV(e.Key, e.Value)
		}
		var outs []OutTensor
		for i, dims := range [][]uint64{{7}, {64, 3}, {32, 5, 2}, {3}, {256, 9}} {
			typ := quant.F32
			if i == 1 || i == 4 {
				typ = quant.Q8_0
			}
			rb, _ := typ.RowSize(int(dims[0]))
			rows := 1
			for _, d := range dims[1:] {
				rows *= int(d)
			}
			data := make([]byte, rb*rows)
			for j := range data {
				data[j] = byte(r.IntN(256))
			}
			name := fmt.Sprintf("t%d", i)
			if err := w.AddTensor(name, typ, dims, data); err != nil {
				t.Fatal(err)
			}
			outs = append(outs, OutTensor{Name: name, Type: typ, Dims: dims, Fill: func(lo, hi int, dst []byte) error {
				copy(dst, data[lo*rb:hi*rb])
				return nil
			}})
		}
		var want, got bytes.Buffer
		if _, err := w.WriteTo(&want); err != nil {
			t.Fatal(err)
		}
		if err := writeGGUF(&got, kv, outs, 3); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(want.Bytes(), got.Bytes()) {
			t.Errorf("alignment %d: streamed file (%d bytes) differs from gguf.Writer's (%d bytes)", align, got.Len(), want.Len())
		}
	}
}

// failAfter fails every write once n bytes have been accepted, as a full
// disk does.
type failAfter struct{ n int }

var errNoSpace = errors.New("no space left on device")

func (f *failAfter) Write(p []byte) (int, error) {
	if len(p) > f.n {
		k := f.n
		f.n = 0
		return k, errNoSpace
	}
	f.n -= len(p)
	return len(p), nil
}

func TestWriteGGUFErrors(t *testing.T) {
	fill := func(lo, hi int, dst []byte) error { return nil }
	outs := []OutTensor{{Name: "a", Type: quant.F32, Dims: []uint64{64, 64}, Fill: fill}}
	for _, n := range []int{10, 100, 5000} {
		err := writeGGUF(&failAfter{n: n}, nil, outs, 2)
		if !errors.Is(err, errNoSpace) {
			t.Errorf("disk full after %d bytes: error %v", n, err)
		}
	}
	dir := t.TempDir()
	boom := errors.New("boom")
	bad := []OutTensor{outs[0], {Name: "b", Type: quant.F32, Dims: []uint64{8}, Fill: func(lo, hi int, dst []byte) error { return boom }}}
	err := WriteGGUF(filepath.Join(dir, "x.gguf"), nil, bad, 2)
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "tensor b") {
		t.Errorf("failing Fill: error %v", err)
	}
	assertEmptyDir(t, dir)
	// An existing output is left as it was.
	prev := filepath.Join(dir, "x.gguf")
	if err := os.WriteFile(prev, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteGGUF(prev, nil, bad, 2); err == nil {
		t.Fatal("no error")
	}
	if b, _ := os.ReadFile(prev); string(b) != "old" {
		t.Errorf("output overwritten by a failed write: %q", b)
	}
	if diff := cmp.Diff(1, countFiles(t, dir)); diff != "" {
		t.Errorf("files in the directory (-want +got):\n%s", diff)
	}
}

func countFiles(t *testing.T, dir string) int {
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}
