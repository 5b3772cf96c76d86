package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Digest returns the store digest ("sha256:" + hex) of a SHA-256 given as
// 64 hex digits, or an error naming what is wrong with it.
func Digest(sha256Hex string) (string, error) {
	d := "sha256:" + strings.ToLower(sha256Hex)
	if _, err := blobFile(d); err != nil {
		return "", err
	}
	return d, nil
}

// blobFile returns the file name of a blob, validating the digest so that
// it can only ever name a file inside blobs/.
func blobFile(digest string) (string, error) {
	hex, ok := strings.CutPrefix(digest, "sha256:")
	if !ok || len(hex) != 64 || strings.Trim(hex, "0123456789abcdef") != "" {
		return "", fmt.Errorf("invalid digest %q (want sha256: and 64 lowercase hex digits)", digest)
	}
	return "sha256-" + hex, nil
}

// Blob returns the path of the blob with the given digest and whether it
// is present.
func (s *Store) Blob(digest string) (path string, ok bool, err error) {
	name, err := blobFile(digest)
	if err != nil {
		return "", false, fmt.Errorf("store: %w", err)
	}
	path = filepath.Join(s.dir, "blobs", name)
	_, err = os.Stat(path)
	switch {
	case err == nil:
		return path, true, nil
	case errors.Is(err, fs.ErrNotExist):
		return path, false, nil
	}
	return path, false, fmt.Errorf("store: %w", err)
}

// FetchBlob makes the blob with the given digest present, calling fetch
// unless it already is, and returns its path. fetch gets the path of the
// blob's partial file, which may hold the first bytes from an interrupted
// earlier fetch, and must leave the complete content there, verified
// against digest; FetchBlob then renames it into place. A lock on the blob
// serializes callers, across processes too: a second caller for the same
// digest waits, then finds the blob present and returns without fetching.
// When fetch fails the partial file stays for the next attempt, unless
// fetch removed it.
func (s *Store) FetchBlob(ctx context.Context, digest string, fetch func(partial string) error) (string, error) {
	path, ok, err := s.Blob(digest)
	if err != nil || ok {
		return path, err
	}
	l, err := lockPath(ctx, s.lockFile(digest))
	if err != nil {
		return "", err
	}
	defer l.release()
	if _, ok, err := s.Blob(digest); err != nil || ok {
		return path, err
	}
	partial := path + ".partial"
	if err := fetch(partial); err != nil {
		return "", err
	}
	if err := os.Rename(partial, path); err != nil {
		return "", fmt.Errorf("store: %w", err)
	}
	// Only once the blob exists may the lock file go: a waiter that still
	// holds the old file then finds the blob and does not fetch.
	os.Remove(s.lockFile(digest))
	return path, nil
}

// lockFile is the lock of a blob's download; the digest is valid.
func (s *Store) lockFile(digest string) string {
	name, _ := blobFile(digest)
	return filepath.Join(s.dir, "locks", name+".lock")
}

// AddFile moves the complete file at tmp, whose SHA-256 the caller
// computed, into the store as a blob; tmp must be in the same file system,
// such as a file from TempFile. If the blob is already present tmp is
// removed instead.
func (s *Store) AddFile(tmp, digest string) (string, error) {
	path, ok, err := s.Blob(digest)
	if err == nil && !ok {
		err = os.Rename(tmp, path)
	}
	if err != nil || ok {
		os.Remove(tmp)
	}
	if err != nil {
		return "", fmt.Errorf("store: %w", err)
	}
	return path, nil
}

// TempFile creates a temporary file in the blob directory, for content
// whose digest is known only once it is written (see AddFile).
func (s *Store) TempFile() (*os.File, error) {
	f, err := os.CreateTemp(filepath.Join(s.dir, "blobs"), ".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	return f, nil
}
