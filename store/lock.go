package store

import (
	"context"
	"fmt"
	"os"
	"time"
)

// lockPoll is how often a waiting locker retries.
const lockPoll = 50 * time.Millisecond

// fileLock is an exclusive lock held on an open lock file.
type fileLock struct{ f *os.File }

// lockPath locks the file at path (creating it), waiting until it is free
// or ctx ends. Locks exclude other processes and other opens in this one.
func lockPath(ctx context.Context, path string) (*fileLock, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("store: lock: %w", err)
	}
	t := time.NewTicker(lockPoll)
	defer t.Stop()
	for {
		ok, err := tryLock(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("store: lock %s: %w", path, err)
		}
		if ok {
			return &fileLock{f}, nil
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("store: waiting for lock %s: %w", path, ctx.Err())
		case <-t.C:
		}
	}
}

// release unlocks and closes the lock file.
func (l *fileLock) release() {
	unlock(l.f)
	l.f.Close()
}
