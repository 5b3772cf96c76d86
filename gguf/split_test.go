package gguf

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// writeSplit writes tinyTensors across n parts the way gguf-split does:
// part 1 carries the metadata, every part the split keys. edit may change
// a part's writer before it is written (part is 0-based).
func writeSplit(t *testing.T, prefix string, n int, edit func(part int, w *Writer)) []string {
	t.Helper()
	tensors := tinyTensors()
	var paths []string
	for p := range n {
		w := NewWriter()
		if p == 0 {
			for _, kv := range allKinds() {
				w.SetKV(kv.Key, kv.Value)
			}
		}
		w.SetKV(KeySplitNo, uint16(p))
		w.SetKV(KeySplitCount, uint16(n))
		w.SetKV(KeySplitTensorsCount, int32(len(tensors)))
		for i, tn := range tensors {
			if i*n/len(tensors) == p {
				if err := w.AddTensor(tn.Name, tn.Type, tn.Dims, tn.Data); err != nil {
					t.Fatal(err)
				}
			}
		}
		if edit != nil {
			edit(p, w)
		}
		path := SplitPath(prefix, p+1, n)
		if err := w.WriteFile(path); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, path)
	}
	return paths
}

func TestSplitOpen(t *testing.T) {
	prefix := filepath.Join(t.TempDir(), "model")
	paths := writeSplit(t, prefix, 3, nil)
	var size int64
	for _, p := range paths {
		fi, _ := os.Stat(p)
		size += fi.Size()
	}
	want := tinyTensors()
	for _, path := range paths {
		for _, opts := range []Options{{}, {NoMmap: true}} {
			f, err := OpenWith(path, opts)
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			if diff := cmp.Diff(want, f.Tensors, cmp.FilterPath(func(p cmp.Path) bool {
				return p.Last().String() == ".Offset"
			}, cmp.Ignore())); diff != "" {
				t.Errorf("%s %+v: tensors (-want +got):\n%s", filepath.Base(path), opts, diff)
			}
			for _, tn := range want {
				if got, ok := f.Tensor(tn.Name); !ok || !cmp.Equal(got.Data, tn.Data) {
					t.Errorf("Tensor(%q) = %v, %v", tn.Name, got, ok)
				}
			}
			if f.Arch() != "llama" || f.String("general.name", "") != "tiny 🦙 model" {
				t.Errorf("metadata of part 1 missing: arch %q", f.Arch())
			}
			if f.Size != size {
				t.Errorf("Size %d, want %d", f.Size, size)
			}
			if wantMapped := mmapSupported && !opts.NoMmap; f.mapped != wantMapped {
				t.Errorf("mapped = %v, want %v", f.mapped, wantMapped)
			}
			if err := f.Close(); err != nil {
				t.Error(err)
			}
		}
	}
}

func TestSplitErrors(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(part int, w *Writer)
		remove int    // 1-based part to delete, or 0
		open   string // file name to open instead of part 1
		want   string
	}{
		{name: "missing part", remove: 2, want: "model-00002-of-00003.gguf) is missing"},
		{name: "missing first", remove: 1, open: "model-00003-of-00003.gguf", want: "opening part 1"},
		{name: "wrong split.no", edit: func(p int, w *Writer) {
			if p == 2 {
				w.SetKV(KeySplitNo, uint16(1))
			}
		}, want: "split.no is 1, want 2"},
		{name: "wrong count in part", edit: func(p int, w *Writer) {
			if p == 1 {
				w.SetKV(KeySplitCount, uint16(4))
			}
		}, want: "split.count is 4, the first part says 3"},
		{name: "tensor count", edit: func(p int, w *Writer) {
			if p == 0 {
				w.SetKV(KeySplitTensorsCount, int32(5))
			}
		}, want: "split.tensors.count is 5 but the 3 parts hold 3 tensors"},
		{name: "duplicate tensor", edit: func(p int, w *Writer) {
			if p == 2 {
				w.AddTensor("token_embd.weight", 0, []uint64{1}, make([]byte, 4))
				w.SetKV(KeySplitTensorsCount, int32(4))
			}
		}, want: `tensor "token_embd.weight" appears in more than one part`},
		{name: "name lacks pattern", open: "renamed.gguf", want: "name does not follow"},
		{name: "name disagrees", open: "model-00001-of-00002.gguf", want: "split.count is 3 but the name says 2 parts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			paths := writeSplit(t, filepath.Join(dir, "model"), 3, tt.edit)
			if tt.remove > 0 {
				os.Remove(paths[tt.remove-1])
			}
			open := paths[0]
			if tt.open != "" {
				open = filepath.Join(dir, tt.open)
				if _, err := os.Stat(open); err != nil {
					os.Rename(paths[0], open)
				}
			}
			f, err := Open(open)
			if err == nil {
				f.Close()
				t.Fatalf("opened %d tensors without error", len(f.Tensors))
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestPartPaths(t *testing.T) {
	dir := filepath.Join("models", "q")
	for _, c := range []struct {
		path  string
		count int
		want  []string
		err   string
	}{
		{"m.gguf", 1, []string{"m.gguf"}, ""},
		{filepath.Join(dir, "Big-Q4_K_M-00002-of-00003.gguf"), 3, []string{
			filepath.Join(dir, "Big-Q4_K_M-00001-of-00003.gguf"),
			filepath.Join(dir, "Big-Q4_K_M-00002-of-00003.gguf"),
			filepath.Join(dir, "Big-Q4_K_M-00003-of-00003.gguf")}, ""},
		{"m.gguf", 2, nil, "does not follow"},
		{"m-00001-of-00002.gguf", 3, nil, "the name says 2 parts"},
	} {
		got, err := PartPaths(c.path, c.count)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("PartPaths(%q, %d): %v, want an error containing %q", c.path, c.count, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("PartPaths(%q, %d): %v", c.path, c.count, err)
			continue
		}
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("PartPaths(%q, %d) (-want +got):\n%s", c.path, c.count, diff)
		}
	}
}
