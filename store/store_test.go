package store_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/qilin-ai/qilin/store"
)

func digestOf(data []byte) string {
	h := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(h[:])
}

// addBlob puts data into s as a blob and returns a Blob naming it.
func addBlob(t *testing.T, s *store.Store, name string, data []byte) store.Blob {
	t.Helper()
	d := digestOf(data)
	if _, err := s.FetchBlob(context.Background(), d, func(partial string) error {
		return os.WriteFile(partial, data, 0o644)
	}); err != nil {
		t.Fatal(err)
	}
	return store.Blob{Digest: d, Name: name, Size: int64(len(data))}
}

func blobFiles(t *testing.T, s *store.Store) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(s.Dir(), "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestPutListRemoveSharesBlobs(t *testing.T) {
	ctx := context.Background()
	s, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	a := addBlob(t, s, "a-Q4_K_M.gguf", []byte("GGUF model A"))
	b := addBlob(t, s, "b-Q8_0.gguf", []byte("GGUF model B"))
	pulled := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, m := range []*store.Manifest{
		{Name: "hf.co/org/a:Q4_K_M", Files: []store.Blob{a}, Size: a.Size, Quant: "Q4_K_M", Arch: "qwen2", PulledAt: pulled},
		{Name: "short:1b", Files: []store.Blob{a}, Size: a.Size, Quant: "Q4_K_M", PulledAt: pulled}, // same file
		{Name: "hf.co/org/b:Q8_0", Files: []store.Blob{b}, Size: b.Size, Quant: "Q8_0", PulledAt: pulled},
	} {
		if err := s.Put(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	if got := len(blobFiles(t, s)); got != 2 {
		t.Errorf("%d blob files for 3 names over 2 distinct files, want 2: %v", got, blobFiles(t, s))
	}
	ms, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range ms {
		names = append(names, m.Name)
	}
	if diff := cmp.Diff([]string{"hf.co/org/a:Q4_K_M", "hf.co/org/b:Q8_0", "short:1b"}, names); diff != "" {
		t.Errorf("List names (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff("qwen2", ms[0].Arch); diff != "" {
		t.Errorf("Arch (-want +got):\n%s", diff)
	}

	// Removing one of two names for a file keeps the file.
	if err := s.Remove(ctx, "short:1b"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.Blob(a.Digest); !ok {
		t.Errorf("blob of a removed with another name still using it")
	}
	// Names are case-insensitive.
	if err := s.Remove(ctx, "HF.CO/org/A:q4_k_m"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.Blob(a.Digest); ok {
		t.Errorf("blob of a kept after its last name was removed")
	}
	if _, ok, _ := s.Blob(b.Digest); !ok {
		t.Errorf("blob of b removed")
	}
	if err := s.Remove(ctx, "short:1b"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second Remove: %v, want ErrNotFound", err)
	}
	if _, err := s.Get("nothing"); !errors.Is(err, store.ErrNotFound) || !strings.Contains(err.Error(), `"nothing"`) {
		t.Errorf("Get(nothing): %v, want ErrNotFound naming it", err)
	}
}

func TestPutReplacesAndDropsOldBlob(t *testing.T) {
	ctx := context.Background()
	s, _ := store.Open(t.TempDir())
	v1 := addBlob(t, s, "m.gguf", []byte("version 1"))
	v2 := addBlob(t, s, "m.gguf", []byte("version 2"))
	shared := addBlob(t, s, "s.gguf", []byte("shared"))
	for _, m := range []*store.Manifest{
		{Name: "m", Files: []store.Blob{v1}, Size: v1.Size},
		{Name: "n", Files: []store.Blob{shared}, Size: shared.Size},
		{Name: "o", Files: []store.Blob{shared}, Size: shared.Size},
		{Name: "m", Files: []store.Blob{v2}, Size: v2.Size}, // an update on the Hub
		{Name: "n", Files: []store.Blob{v2}, Size: v2.Size}, // o still holds shared
	} {
		if err := s.Put(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		b    store.Blob
		want bool
	}{{v1, false}, {v2, true}, {shared, true}} {
		if _, ok, _ := s.Blob(c.b.Digest); ok != c.want {
			t.Errorf("blob %q present = %v, want %v", c.b.Digest, ok, c.want)
		}
	}
}

func TestResolveMarksUse(t *testing.T) {
	ctx := context.Background()
	s, _ := store.Open(t.TempDir())
	a := addBlob(t, s, "a.gguf", []byte("GGUF a"))
	if err := s.Put(ctx, &store.Manifest{Name: "m", Files: []store.Blob{a}, Size: a.Size}); err != nil {
		t.Fatal(err)
	}
	if m, _ := s.Get("m"); !m.LastUsed.IsZero() {
		t.Errorf("LastUsed %v before any use", m.LastUsed)
	}
	before := time.Now()
	path, err := s.Resolve("m")
	if err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(path); err != nil || string(data) != "GGUF a" {
		t.Errorf("Resolve path %s holds %q, %v", path, data, err)
	}
	if m, _ := s.Get("m"); m.LastUsed.Before(before.Add(-time.Second)) {
		t.Errorf("LastUsed %v not updated (resolved at %v)", m.LastUsed, before)
	}
	blob, _, _ := s.Blob(a.Digest)
	os.Remove(blob)
	if _, err := s.Resolve("m"); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("Resolve with its blob gone: %v, want a missing-blob error", err)
	}
}

func TestSplitModelLinks(t *testing.T) {
	ctx := context.Background()
	s, _ := store.Open(t.TempDir())
	parts := []store.Blob{
		addBlob(t, s, "M-Q8_0-00001-of-00002.gguf", []byte("part one")),
		addBlob(t, s, "M-Q8_0-00002-of-00002.gguf", []byte("part two")),
	}
	if err := s.Put(ctx, &store.Manifest{Name: "split", Files: parts, Size: 16}); err != nil {
		t.Fatal(err)
	}
	path, err := s.Resolve("split")
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(path) != parts[0].Name {
		t.Errorf("Resolve = %s, want the first part under its own name", path)
	}
	sibling := filepath.Join(filepath.Dir(path), parts[1].Name)
	if data, err := os.ReadFile(sibling); err != nil || string(data) != "part two" {
		t.Errorf("sibling %s: %q, %v", sibling, data, err)
	}
	got, err := s.Parts("split")
	if err != nil || len(got) != 2 || got[1] != sibling {
		t.Errorf("Parts = %v, %v; want [%s %s]", got, err, path, sibling)
	}
	if err := s.Remove(ctx, "split"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Dir(path)); !os.IsNotExist(err) {
		t.Errorf("link directory still there after Remove: %v", err)
	}
	if n := len(blobFiles(t, s)); n != 0 {
		t.Errorf("%d blob files left after removing the only model", n)
	}
}

func TestPathSafety(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, _ := store.Open(filepath.Join(dir, "store"))
	a := addBlob(t, s, "a.gguf", []byte("a"))

	// Hostile names stay inside manifests/ as one escaped file.
	for _, name := range []string{"../../x", `..\..\x`, "/etc/passwd", "C:/x", "a/../../b"} {
		if err := s.Put(ctx, &store.Manifest{Name: name, Files: []store.Blob{a}, Size: 1}); err != nil {
			t.Fatalf("Put(%q): %v", name, err)
		}
		if m, err := s.Get(name); err != nil || m.Name != name {
			t.Errorf("Get(%q) = %v, %v", name, m, err)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("the store wrote outside its directory: %v", entries)
	}

	// Hostile file names and digests are refused.
	for _, b := range []store.Blob{
		{Digest: a.Digest, Name: "../../x.gguf", Size: 1},
		{Digest: a.Digest, Name: "..", Size: 1},
		{Digest: a.Digest, Name: `..\x.gguf`, Size: 1},
		{Digest: "sha256:../../../etc/passwd", Name: "a.gguf", Size: 1},
		{Digest: strings.ToUpper(a.Digest), Name: "a.gguf", Size: 1},
		{Digest: "md5:00", Name: "a.gguf", Size: 1},
	} {
		if err := s.Put(ctx, &store.Manifest{Name: "bad", Files: []store.Blob{b, b}, Size: 2}); err == nil {
			t.Errorf("Put with file %+v accepted", b)
		}
	}
	for _, bad := range []string{"", "a\nb", strings.Repeat("x", 300)} {
		if _, err := s.Get(bad); err == nil || errors.Is(err, store.ErrNotFound) {
			t.Errorf("Get(%q): %v, want an invalid-name error", bad, err)
		}
	}
	if _, err := store.Digest("../x"); err == nil {
		t.Errorf("Digest(../x) accepted")
	}
}

func TestPutChecksBlobs(t *testing.T) {
	s, _ := store.Open(t.TempDir())
	missing := store.Blob{Digest: digestOf([]byte("never stored")), Name: "x.gguf", Size: 12}
	if err := s.Put(context.Background(), &store.Manifest{Name: "m", Files: []store.Blob{missing}}); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("Put with a missing blob: %v", err)
	}
	a := addBlob(t, s, "a.gguf", []byte("abc"))
	a.Size = 4
	if err := s.Put(context.Background(), &store.Manifest{Name: "m", Files: []store.Blob{a}}); err == nil {
		t.Errorf("Put with a wrong size accepted")
	}
}

func TestFetchBlobConcurrent(t *testing.T) {
	s, _ := store.Open(t.TempDir())
	data := []byte(strings.Repeat("blob bytes ", 1000))
	d := digestOf(data)
	var fetches atomic.Int32
	var wg sync.WaitGroup
	paths := make([]string, 8)
	errs := make([]error, 8)
	for i := range paths {
		wg.Go(func() {
			paths[i], errs[i] = s.FetchBlob(context.Background(), d, func(partial string) error {
				fetches.Add(1)
				f, err := os.OpenFile(partial, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
				if err != nil {
					return err
				}
				defer f.Close()
				for off := 0; off < len(data); off += 1000 { // slowly, so others wait
					f.Write(data[off:min(off+1000, len(data))])
					time.Sleep(time.Millisecond)
				}
				return nil
			})
		})
	}
	wg.Wait()
	for i := range paths {
		if errs[i] != nil {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
		if paths[i] != paths[0] {
			t.Errorf("caller %d got %s, caller 0 %s", i, paths[i], paths[0])
		}
	}
	if n := fetches.Load(); n != 1 {
		t.Errorf("%d fetches for one blob, want 1", n)
	}
	if got, _ := os.ReadFile(paths[0]); digestOf(got) != d {
		t.Errorf("blob content corrupted (%d bytes)", len(got))
	}
	if names := blobFiles(t, s); len(names) != 1 {
		t.Errorf("blobs/ holds %v, want only the blob", names)
	}
}

func TestFetchBlobFailureKeepsPartial(t *testing.T) {
	s, _ := store.Open(t.TempDir())
	d := digestOf([]byte("complete"))
	_, err := s.FetchBlob(context.Background(), d, func(partial string) error {
		os.WriteFile(partial, []byte("comp"), 0o644)
		return errors.New("connection reset")
	})
	if err == nil {
		t.Fatal("FetchBlob succeeded with a failing fetch")
	}
	var seen string
	path, err := s.FetchBlob(context.Background(), d, func(partial string) error {
		b, _ := os.ReadFile(partial)
		seen = string(b)
		return os.WriteFile(partial, []byte("complete"), 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen != "comp" {
		t.Errorf("second fetch saw partial %q, want the first attempt's %q", seen, "comp")
	}
	if _, ok, _ := s.Blob(d); !ok || filepath.Dir(path) != filepath.Join(s.Dir(), "blobs") {
		t.Errorf("blob not in place at %s", path)
	}
}

func TestAddFile(t *testing.T) {
	s, _ := store.Open(t.TempDir())
	for range 2 { // the second time the blob exists and the temp file goes
		f, err := s.TempFile()
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString("small file")
		f.Close()
		path, err := s.AddFile(f.Name(), digestOf([]byte("small file")))
		if err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(path); string(b) != "small file" {
			t.Errorf("blob holds %q", b)
		}
		if _, err := os.Stat(f.Name()); !os.IsNotExist(err) {
			t.Errorf("temp file %s still there", f.Name())
		}
	}
}

func TestDefaultDir(t *testing.T) {
	t.Setenv("QILIN_MODELS", "/some/where")
	if d, err := store.DefaultDir(); err != nil || d != "/some/where" {
		t.Errorf("DefaultDir = %q, %v", d, err)
	}
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" {
		return // the home directory comes from other variables there
	}
	t.Setenv("QILIN_MODELS", "")
	t.Setenv("HOME", "/home/u")
	if d, err := store.DefaultDir(); err != nil || d != filepath.Join("/home/u", ".qilin", "models") {
		t.Errorf("DefaultDir = %q, %v", d, err)
	}
}
