//go:build unix

package gguf

import (
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// mmapFile maps size bytes of fd read-only and returns the mapping and a
// function that unmaps it (once).
func mmapFile(fd *os.File, size int) ([]byte, func() error, error) {
	data, err := unix.Mmap(int(fd.Fd()), 0, size, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, nil, err
	}
	return data, sync.OnceValue(func() error { return unix.Munmap(data) }), nil
}

// mmapSupported reports whether mmapFile can map files on this platform.
const mmapSupported = true
