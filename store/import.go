package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// ImportOptions configures Import. The zero value shows nothing.
type ImportOptions struct {
	// Progress, if set, is called for each file before it is copied, with
	// its name and size, and returns a function that receives the bytes
	// copied so far (and is called once more with the size at the end).
	Progress func(file string, size int64) func(done int64)
}

// Import copies local files into the store and records them under m.Name:
// the files are m's Files in load order (one, or the parts of a split
// model), each hashed while it is copied. Import sets m.Files, m.Size and
// m.PulledAt, and m.Source to "file:" and the first file's absolute path
// when empty; the other fields (Quant, Arch) are the caller's. A name
// already in the store is replaced, as Put replaces it.
func (s *Store) Import(ctx context.Context, m *Manifest, paths []string, opts ImportOptions) error {
	if err := checkName(m.Name); err != nil {
		return err
	}
	if len(paths) == 0 {
		return fmt.Errorf("store: import %q: no files", m.Name)
	}
	m.Files, m.Size = nil, 0
	for _, p := range paths {
		b, err := s.importFile(ctx, p, opts)
		if err != nil {
			return err
		}
		m.Files = append(m.Files, b)
		m.Size += b.Size
	}
	if m.Source == "" {
		abs, err := filepath.Abs(paths[0])
		if err != nil {
			abs = paths[0]
		}
		m.Source = "file:" + abs
	}
	m.PulledAt = time.Now().UTC()
	return s.Put(ctx, m)
}

// importFile copies the file at path into the store as a blob.
func (s *Store) importFile(ctx context.Context, path string, opts ImportOptions) (Blob, error) {
	src, err := os.Open(path)
	if err != nil {
		return Blob{}, fmt.Errorf("store: import: %w", err)
	}
	defer src.Close()
	fi, err := src.Stat()
	if err != nil {
		return Blob{}, fmt.Errorf("store: import: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return Blob{}, fmt.Errorf("store: import: %s is not a regular file", path)
	}
	b := Blob{Name: filepath.Base(path), Size: fi.Size()}
	if err := checkFileName(b.Name); err != nil {
		return b, fmt.Errorf("store: import: %w", err)
	}
	tmp, err := s.TempFile()
	if err != nil {
		return b, err
	}
	defer os.Remove(tmp.Name()) // a no-op once AddFile moved it
	progress := func(int64) {}
	if opts.Progress != nil {
		progress = opts.Progress(b.Name, b.Size)
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), &ctxReader{ctx: ctx, r: src, progress: progress})
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil && n != b.Size {
		err = fmt.Errorf("%s changed while it was copied (%d bytes, then %d)", path, b.Size, n)
	}
	if err != nil {
		return b, fmt.Errorf("store: import %s: %w", path, err)
	}
	progress(n)
	b.Digest = "sha256:" + hex.EncodeToString(h.Sum(nil))
	if _, err := s.AddFile(tmp.Name(), b.Digest); err != nil {
		return b, err
	}
	return b, nil
}

// ctxReader stops reading when ctx ends and reports the bytes read.
type ctxReader struct {
	ctx      context.Context
	r        io.Reader
	n        int64
	progress func(done int64)
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	c.progress(c.n)
	return n, err
}
