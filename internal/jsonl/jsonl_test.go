package jsonl

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLoadDropsTornLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.jsonl")
	os.WriteFile(path, []byte("{\"a\":1}\n{\"b\":2}\n{\"c\":"), 0o644)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	torn, err := Load(f, func(n int, line []byte) error {
		got = append(got, string(line))
		return nil
	})
	if err != nil || !torn {
		t.Fatalf("Load: torn %v, err %v; want torn, no error", torn, err)
	}
	if diff := cmp.Diff([]string{"{\"a\":1}\n", "{\"b\":2}\n"}, got); diff != "" {
		t.Errorf("lines (-want +got):\n%s", diff)
	}
	a := NewAppender(f)
	a.Add(0, []byte("{\"d\":4}\n"))
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	b, _ := os.ReadFile(path)
	if want := "{\"a\":1}\n{\"b\":2}\n{\"d\":4}\n"; string(b) != want {
		t.Errorf("file %q, want %q", b, want)
	}
}

func TestLoadStopsOnError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.jsonl")
	os.WriteFile(path, []byte("ok\nbad\n"), 0o644)
	f, _ := os.OpenFile(path, os.O_RDWR, 0)
	defer f.Close()
	_, err := Load(f, func(n int, line []byte) error {
		if strings.HasPrefix(string(line), "bad") {
			return os.ErrInvalid
		}
		return nil
	})
	if err != os.ErrInvalid {
		t.Errorf("Load: %v, want the callback's error", err)
	}
}

func TestLockDir(t *testing.T) {
	dir := t.TempDir()
	unlock, err := LockDir(dir, "test run")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := LockDir(dir, "test run"); err == nil || !strings.Contains(err.Error(), "in use by another test run") {
		t.Errorf("second LockDir: %v, want in use", err)
	}
	unlock()
	u2, err := LockDir(dir, "test run")
	if err != nil {
		t.Errorf("LockDir after unlock: %v", err)
	} else {
		u2()
	}
}

func TestWriter(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.jsonl")
	w, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("{\"a\":1}\n"))
	w.Write([]byte("{\"b\":2}\n"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	w.Abort() // after Close: nothing to do
	if b, _ := os.ReadFile(path); string(b) != "{\"a\":1}\n{\"b\":2}\n" {
		t.Errorf("file %q", b)
	}
	w, err = Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("{\"c\":3}\n"))
	w.Abort() // unflushed: the file is left truncated, not half-replaced
	if b, _ := os.ReadFile(path); string(b) != "" {
		t.Errorf("aborted file %q, want empty", b)
	}
	if err := w.Close(); err != nil {
		t.Errorf("Close after Abort: %v", err)
	}
}
