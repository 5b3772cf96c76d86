//go:build unix

package jsonl

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// LockDir takes an exclusive lock on dir (released when the process ends,
// however it ends), so that two runs never append to one directory; user
// names them in the error ("qilin distill collect").
func LockDir(dir, user string) (func(), error) {
	f, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s is in use by another %s (%v)", dir, user, err)
	}
	return func() { f.Close() }, nil
}

// SyncDir makes the directory's entries (created and renamed files)
// durable.
func SyncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
