package model

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/qilin-ai/qilin/gguf"
	"github.com/qilin-ai/qilin/internal/testdata"
)

// TestTensorsListEveryFileTensor checks the declared tensor list against
// the shared model files: for each file of a supported architecture,
// Tensors(ReadConfig(file)) names exactly the file's tensors with their
// dimensions, so that writers using the list write what llama.cpp does.
func TestTensorsListEveryFileTensor(t *testing.T) {
	dir := testdata.Dir(t)
	var files []string
	for _, sub := range []string{"models", "next/models"} {
		m, err := filepath.Glob(filepath.Join(dir, sub, "*.gguf"))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Fatalf("no models in %s", dir)
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			f, err := gguf.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			c, err := ReadConfig(f)
			if errors.Is(err, ErrUnsupportedArchitecture) {
				t.Skipf("%s: %v", path, err)
			}
			if err != nil {
				t.Fatal(err)
			}
			type shape struct {
				Name string
				Dims []int
			}
			var want, got []shape
			for _, tn := range f.Tensors {
				d := make([]int, len(tn.Dims))
				for i, v := range tn.Dims {
					d[i] = int(v)
				}
				want = append(want, shape{tn.Name, d})
			}
			for _, tn := range Tensors(&c) {
				got = append(got, shape{tn.Name, tn.Dims})
			}
			byName := func(a, b shape) int { return strings.Compare(a.Name, b.Name) }
			slices.SortFunc(want, byName)
			slices.SortFunc(got, byName)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("tensors (-file +Tensors):\n%s", diff)
			}
		})
	}
}
