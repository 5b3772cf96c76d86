package jsonl

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Load reads f from its start, passing each complete line (with its
// newline) to fn with its number, and leaves f positioned at the end for
// appending. A last line without its newline (a run killed while writing
// it) is cut off the file, and torn reports it; an error of fn stops the
// reading and is returned.
func Load(f *os.File, fn func(n int, line []byte) error) (torn bool, err error) {
	r := bufio.NewReaderSize(f, 1<<20)
	var off int64
	for n := 1; ; n++ {
		b, err := r.ReadBytes('\n')
		if err == io.EOF {
			if len(b) > 0 {
				if err := f.Truncate(off); err != nil {
					return false, fmt.Errorf("dropping a half-written last line: %w", err)
				}
				torn = true
			}
			break
		}
		if err != nil {
			return false, err
		}
		off += int64(len(b))
		if err := fn(n, b); err != nil {
			return false, err
		}
	}
	_, err = f.Seek(off, io.SeekStart)
	return torn, err
}

// WriteSynced writes b to path and fsyncs it.
func WriteSynced(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// WriteFileAtomic replaces path with b: a synced temporary file renamed
// over it.
func WriteFileAtomic(path string, b []byte) error {
	tmp := path + ".tmp"
	if err := WriteSynced(tmp, b); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	return SyncDir(filepath.Dir(path))
}

// Writer writes a new file through a buffer; Close flushes it, fsyncs it
// and reports the first error of any write.
type Writer struct {
	f   *os.File
	w   *bufio.Writer
	err error
}

// Create creates (truncating) path for a Writer.
func Create(path string) (*Writer, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	return &Writer{f: f, w: bufio.NewWriterSize(f, 1<<20)}, nil
}

// Write appends b; an error is kept for Close.
func (w *Writer) Write(b []byte) {
	if w.err == nil {
		_, w.err = w.w.Write(b)
	}
}

// Close flushes, fsyncs and closes the file.
func (w *Writer) Close() error {
	if w.f == nil {
		return w.err
	}
	if w.err == nil {
		w.err = w.w.Flush()
	}
	if w.err == nil {
		w.err = w.f.Sync()
	}
	if err := w.f.Close(); w.err == nil {
		w.err = err
	}
	w.f = nil
	return w.err
}

// Abort closes the file if Close has not, leaving what was written.
func (w *Writer) Abort() {
	if w.f != nil {
		w.f.Close()
		w.f = nil
	}
}
