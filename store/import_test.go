package store_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/qilin-ai/qilin/store"
)

func TestImport(t *testing.T) {
	ctx := context.Background()
	s, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(t.TempDir(), "tiny-Q8_0.gguf")
	data := bytes.Repeat([]byte("GGUF tiny model "), 5000)
	if err := os.WriteFile(src, data, 0o644); err != nil {
		t.Fatal(err)
	}
	var seen []int64
	opts := store.ImportOptions{Progress: func(file string, size int64) func(int64) {
		if file != "tiny-Q8_0.gguf" || size != int64(len(data)) {
			t.Errorf("progress for %q of %d bytes, want tiny-Q8_0.gguf of %d", file, size, len(data))
		}
		return func(done int64) { seen = append(seen, done) }
	}}
	m := &store.Manifest{Name: "my/tiny", Quant: "Q8_0", Arch: "llama"}
	if err := s.Import(ctx, m, []string{src}, opts); err != nil {
		t.Fatal(err)
	}
	if len(seen) == 0 || seen[len(seen)-1] != int64(len(data)) {
		t.Errorf("progress %v does not end at %d bytes", seen, len(data))
	}
	got, err := s.Get("my/tiny")
	if err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs(src)
	want := &store.Manifest{Name: "my/tiny", Source: "file:" + abs, Quant: "Q8_0", Arch: "llama", Size: int64(len(data)),
		Files: []store.Blob{{Digest: digestOf(data), Name: "tiny-Q8_0.gguf", Size: int64(len(data))}}, PulledAt: got.PulledAt}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("manifest (-want +got):\n%s", diff)
	}
	p, err := s.Resolve("MY/TINY")
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); !bytes.Equal(b, data) {
		t.Errorf("resolved %s does not hold the imported bytes", p)
	}
	// The same bytes under a second name share the blob; no temporary
	// files stay behind.
	if err := s.Import(ctx, &store.Manifest{Name: "again"}, []string{src}, store.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"sha256-" + strings.TrimPrefix(digestOf(data), "sha256:")}, blobFiles(t, s)); diff != "" {
		t.Errorf("blobs (-want +got):\n%s", diff)
	}
}

func TestImportErrors(t *testing.T) {
	s, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(t.TempDir(), "m.gguf")
	if err := os.WriteFile(src, []byte("GGUF"), 0o644); err != nil {
		t.Fatal(err)
	}
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, c := range []struct {
		name  string
		ctx   context.Context
		model string
		paths []string
		want  string
	}{
		{"missing file", context.Background(), "a", []string{filepath.Join(t.TempDir(), "none.gguf")}, "no such file"},
		{"directory", context.Background(), "a", []string{t.TempDir()}, "not a regular file"},
		{"no files", context.Background(), "a", nil, "no files"},
		{"empty name", context.Background(), "", []string{src}, "empty model name"},
		{"canceled", canceled, "a", []string{src}, "canceled"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := s.Import(c.ctx, &store.Manifest{Name: c.model}, c.paths, store.ImportOptions{})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Import: %v, want an error containing %q", err, c.want)
			}
			if got := blobFiles(t, s); len(got) != 0 {
				t.Errorf("blobs left behind: %v", got)
			}
		})
	}
}
