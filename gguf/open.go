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
func OpenWith(path string, opts Options) (*File, error) {
	data, release, mapped, err := load(path, opts)
	if err != nil {
		return nil, err
	}
	f, err := parse(data, path)
	if err != nil {
		release()
		return nil, err
	}
	f.mapped = mapped
	f.closers = append(f.closers, release)
	return f, nil
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
