package main

import (
	"bytes"
	"testing"

	"github.com/qilin-ai/qilin/gguf"
	"github.com/qilin-ai/qilin/quant"
)

// splitPart writes part no (1-based) of a two-part model holding tensor name.
func splitPart(t *testing.T, no int, name string) []byte {
	t.Helper()
	w := gguf.NewWriter()
	if no == 1 {
		w.SetKV("general.architecture", "qwen2")
	}
	w.SetKV(gguf.KeySplitNo, uint16(no-1))
	w.SetKV(gguf.KeySplitCount, uint16(2))
	w.SetKV(gguf.KeySplitTensorsCount, int32(2))
	if err := w.AddTensor(name, quant.F32, []uint64{8}, make([]byte, 32)); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// A split model pulled into the store resolves to a path from which the
// loader opens every part as one model.
func TestPullSplitModelLoadsAsOne(t *testing.T) {
	h, _ := storeEnv(t)
	h.Add("org/Big-GGUF", "Q4_K_M/Big-Q4_K_M-00001-of-00002.gguf", splitPart(t, 1, "a.weight"))
	h.Add("org/Big-GGUF", "Q4_K_M/Big-Q4_K_M-00002-of-00002.gguf", splitPart(t, 2, "b.weight"))
	if code, _, errs := qilin(t, "pull", "--quiet", "hf.co/org/Big-GGUF:Q4_K_M"); code != 0 {
		t.Fatalf("pull: exit %d: %s", code, errs)
	}
	mf, err := resolveModel("hf.co/org/Big-GGUF:Q4_K_M")
	if err != nil {
		t.Fatal(err)
	}
	path := mf.Path
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer f.Close()
	for _, name := range []string{"a.weight", "b.weight"} {
		if _, ok := f.Tensor(name); !ok {
			t.Errorf("tensor %s missing from the loaded split model (%d tensors)", name, len(f.Tensors))
		}
	}
}
