package gguf

import (
	"fmt"
	"io"
	"os"
)

// Options control how OpenWith loads a file.
type Options struct {
	// NoMmap reads the file into memory instead of mapping it.
	NoMmap bool
}

// Open opens the GGUF file at path, memory-mapping it where the platform
// allows and reading it into memory otherwise. Tensor Data are zero-copy
// views of the mapping, valid until Close. The file's bytes must not change
// while it is open: a mapped file truncated by another process faults on
// access.
func Open(path string) (*File, error) {
	return OpenWith(path, Options{})
}

// OpenWith is Open with options.
//
// A model split by llama.cpp's gguf-split into PREFIX-00001-of-0000N.gguf,
// ... is opened whole from any of its parts: the File has the first part's
// metadata and the tensors of all parts, and Close releases them all. A
// missing or inconsistent part is an error.
func OpenWith(path string, opts Options) (*File, error) {
	f, err := openPart(path, opts)
	if err != nil {
		return nil, err
	}
	return openSplit(f, path, opts)
}

// load returns the bytes of the file at path, mapped unless opts.NoMmap or
// mapping fails, a function that releases them, and whether they are mapped.
func load(path string, opts Options) (data []byte, release func() error, mapped bool, err error) {
	fd, err := os.Open(path)
	if err != nil {
		return nil, nil, false, fmt.Errorf("gguf: %w", err)
	}
	defer fd.Close()
	fi, err := fd.Stat()
	if err != nil {
		return nil, nil, false, fmt.Errorf("gguf: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, nil, false, fmt.Errorf("gguf: %s: not a regular file", path)
	}
	size := fi.Size()
	if int64(int(size)) != size {
		return nil, nil, false, fmt.Errorf("gguf: %s: file of %d bytes too large to address", path, size)
	}
	if !opts.NoMmap && size > 0 {
		if data, unmap, err := mmapFile(fd, int(size)); err == nil {
			return data, unmap, true, nil
		}
	}
	data = make([]byte, size)
	if _, err := io.ReadFull(fd, data); err != nil {
		return nil, nil, false, fmt.Errorf("gguf: reading %s: %w", path, err)
	}
	return data, func() error { return nil }, false, nil
}
