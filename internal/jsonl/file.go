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
