//go:build !unix && !windows

package jsonl

// LockDir does not lock where the system has no file locks.
func LockDir(string, string) (func(), error) { return func() {}, nil }

// SyncDir does nothing where the system has no directory sync.
func SyncDir(string) error { return nil }
