package jsonl

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/windows"
)

// LockDir takes an exclusive lock on dir (released when the process ends,
// however it ends), so that two runs never append to one directory; user
// names them in the error ("qilin distill collect").
func LockDir(dir, user string) (func(), error) {
	f, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	ol := new(windows.Overlapped)
	if err := windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, ol); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s is in use by another %s (%v)", dir, user, err)
	}
	return func() { f.Close() }, nil
}

// SyncDir does nothing on Windows, where renames are durable once done.
func SyncDir(string) error { return nil }
