//go:build !unix

package gguf

import (
	"errors"
	"os"
)

// mmapFile is unavailable here; Open reads files into memory instead.
func mmapFile(fd *os.File, size int) ([]byte, func() error, error) {
	return nil, nil, errors.New("gguf: mmap not supported on this platform")
}

// mmapSupported reports whether mmapFile can map files on this platform.
const mmapSupported = false
