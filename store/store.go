package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// ErrNotFound is returned (wrapped) for a name the store does not hold.
var ErrNotFound = errors.New("not in the store")

// Manifest describes one named model in the store.
type Manifest struct {
	// Name is the name the model was pulled by (for example
	// "deepseek-r1:1.5b" or "hf.co/Qwen/Qwen2.5-0.5B-Instruct-GGUF:Q4_K_M").
	Name string `json:"name"`
	// Source is where the files came from, e.g. "hf.co/ORG/REPO@COMMIT".
	Source string `json:"source,omitempty"`
	// Files are the model's files in load order: one, or the parts of a
	// split model.
	Files []Blob `json:"files"`
	// Size is the total size of Files in bytes.
	Size int64 `json:"size"`
	// Quant is the quantization label (Q4_K_M, Q8_0, ...), if known.
	Quant string `json:"quant,omitempty"`
	// Arch is general.architecture from the GGUF header, if known.
	Arch     string    `json:"arch,omitempty"`
	PulledAt time.Time `json:"pulled_at"`
	// LastUsed is when Resolve last returned this model; zero if never.
	LastUsed time.Time `json:"last_used,omitzero"`
}

// Blob is one file of a model.
type Blob struct {
	// Digest is "sha256:" and 64 lowercase hex digits.
	Digest string `json:"digest"`
	// Name is the file's name in its repository (base name only).
	Name string `json:"name"`
	Size int64  `json:"size"`
}

// Store is a model store rooted at a directory. Its methods are safe for
// concurrent use, also by several processes sharing the directory.
type Store struct {
	dir string
}

// DefaultDir returns $QILIN_MODELS, or ~/.qilin/models.
func DefaultDir() (string, error) {
	if d := os.Getenv("QILIN_MODELS"); d != "" {
		return d, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("store: no home directory for the default store (set QILIN_MODELS): %w", err)
	}
	return filepath.Join(home, ".qilin", "models"), nil
}

// Open opens the store in dir, creating its directories.
func Open(dir string) (*Store, error) {
	for _, sub := range []string{"blobs", "manifests", "links", "locks"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
	}
	return &Store{dir: dir}, nil
}

// OpenDefault opens the store in DefaultDir.
func OpenDefault() (*Store, error) {
	dir, err := DefaultDir()
	if err != nil {
		return nil, err
	}
	return Open(dir)
}

// Dir returns the store's root directory.
func (s *Store) Dir() string { return s.dir }

// Get returns the manifest for name.
func (s *Store) Get(name string) (*Manifest, error) {
	p, err := s.manifestPath(name)
	if err != nil {
		return nil, err
	}
	return readManifest(p, name)
}

func readManifest(path, name string) (*Manifest, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("store: model %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	m := new(Manifest)
	if err := json.Unmarshal(data, m); err != nil {
		return nil, fmt.Errorf("store: manifest %s: %w", path, err)
	}
	for _, b := range m.Files {
		if _, err := blobFile(b.Digest); err != nil {
			return nil, fmt.Errorf("store: manifest %s: %w", path, err)
		}
	}
	return m, nil
}

// Put records m, replacing any manifest of the same name; blobs of the
// replaced manifest that nothing references any more are deleted. Every
// blob m names must already be in the store. For a split model Put also
// links the parts under their original names (see Resolve).
func (s *Store) Put(ctx context.Context, m *Manifest) error {
	p, err := s.manifestPath(m.Name)
	if err != nil {
		return err
	}
	if len(m.Files) == 0 {
		return fmt.Errorf("store: model %q: no files", m.Name)
	}
	for _, b := range m.Files {
		if err := checkFileName(b.Name); err != nil {
			return fmt.Errorf("store: model %q: %w", m.Name, err)
		}
	}
	l, err := s.lockStore(ctx)
	if err != nil {
		return err
	}
	defer l.release()
	for _, b := range m.Files {
		path, ok, err := s.Blob(b.Digest)
		if err != nil {
			return fmt.Errorf("store: model %q: %w", m.Name, err)
		}
		if !ok {
			return fmt.Errorf("store: model %q: blob %s (%s) is missing", m.Name, b.Digest, b.Name)
		}
		if fi, err := os.Stat(path); err != nil || fi.Size() != b.Size {
			return fmt.Errorf("store: model %q: blob %s (%s) does not have the recorded size %d", m.Name, b.Digest, b.Name, b.Size)
		}
	}
	old, _ := readManifest(p, m.Name) // nil if absent or unreadable (its blobs then stay)
	if err := s.link(m); err != nil {
		return err
	}
	if err := writeJSON(p, m); err != nil {
		return err
	}
	if old != nil {
		return s.dropUnreferenced(old.Files)
	}
	return nil
}

// List returns every manifest, sorted by name. Unreadable manifests are
// reported as an error after the readable ones are collected.
func (s *Store) List() ([]*Manifest, error) {
	entries, err := os.ReadDir(filepath.Join(s.dir, "manifests"))
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	var ms []*Manifest
	var errs []error
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".json") {
			continue // temporary files of writes in progress, strays
		}
		m, err := readManifest(filepath.Join(s.dir, "manifests", e.Name()), e.Name())
		if err != nil {
			errs = append(errs, err)
			continue
		}
		ms = append(ms, m)
	}
	slices.SortFunc(ms, func(a, b *Manifest) int { return strings.Compare(a.Name, b.Name) })
	return ms, errors.Join(errs...)
}

// Remove deletes the manifest for name, then every blob no remaining
// manifest references.
func (s *Store) Remove(ctx context.Context, name string) error {
	p, err := s.manifestPath(name)
	if err != nil {
		return err
	}
	l, err := s.lockStore(ctx)
	if err != nil {
		return err
	}
	defer l.release()
	m, err := readManifest(p, name)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if err := os.RemoveAll(s.linkDir(name)); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if err := s.dropUnreferenced(m.Files); err != nil {
		return fmt.Errorf("store: removed %q: %w", name, err)
	}
	return nil
}

// dropUnreferenced deletes those of blobs that no manifest references.
// The caller holds the store lock.
func (s *Store) dropUnreferenced(blobs []Blob) error {
	rest, err := s.List()
	if err != nil {
		// A manifest we cannot read might reference anything: keep blobs.
		return fmt.Errorf("kept unreferenced blobs: %w", err)
	}
	used := map[string]bool{}
	for _, o := range rest {
		for _, b := range o.Files {
			used[b.Digest] = true
		}
	}
	var errs []error
	for _, b := range blobs {
		if used[b.Digest] {
			continue
		}
		path, _, err := s.Blob(b.Digest)
		if err == nil {
			err = os.Remove(path)
		}
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("removing blobs: %w", err)
	}
	return nil
}

// Resolve returns the path to load the model called name from, and marks
// it used now. For a split model it is the first part's link, next to its
// siblings' links under their original names. Resolve checks that every
// blob is present.
func (s *Store) Resolve(name string) (string, error) {
	paths, err := s.Parts(name)
	if err != nil {
		return "", err
	}
	return paths[0], nil
}

// Parts is Resolve for loaders that take every part of a split model: the
// paths of all the model's files, in order. It marks the model used now.
func (s *Store) Parts(name string) ([]string, error) {
	m, err := s.Get(name)
	if err != nil {
		return nil, err
	}
	paths := make([]string, len(m.Files))
	for i, b := range m.Files {
		path, ok, err := s.Blob(b.Digest)
		if err == nil && !ok {
			err = fmt.Errorf("blob %s (%s) is missing: pull the model again", b.Digest, b.Name)
		}
		if err != nil {
			return nil, fmt.Errorf("store: model %q: %w", m.Name, err)
		}
		if len(m.Files) > 1 {
			path = filepath.Join(s.linkDir(m.Name), b.Name)
			if _, err := os.Stat(path); err != nil {
				return nil, fmt.Errorf("store: model %q: part link: %w", m.Name, err)
			}
		}
		paths[i] = path
	}
	// Last-used is advisory: a failure to record it must not stop a run.
	s.touch(name, time.Now())
	return paths, nil
}

// touch sets name's LastUsed to t.
func (s *Store) touch(name string, t time.Time) {
	l, err := s.lockStore(context.Background())
	if err != nil {
		return
	}
	defer l.release()
	p, err := s.manifestPath(name)
	if err != nil {
		return
	}
	m, err := readManifest(p, name)
	if err != nil {
		return
	}
	m.LastUsed = t.UTC()
	writeJSON(p, m)
}

// lockStore takes the store-wide lock that orders manifest writes and
// removals.
func (s *Store) lockStore(ctx context.Context) (*fileLock, error) {
	return lockPath(ctx, filepath.Join(s.dir, "locks", "manifests.lock"))
}

// manifestPath returns the manifest file for name.
func (s *Store) manifestPath(name string) (string, error) {
	key, err := escapeName(name)
	if err != nil {
		return "", err
	}
	return filepath.Join(s.dir, "manifests", key+".json"), nil
}

// linkDir returns the directory of a split model's part links. Its name
// was validated by the manifestPath call that precedes every use.
func (s *Store) linkDir(name string) string {
	key, _ := escapeName(name)
	return filepath.Join(s.dir, "links", key)
}

// link (re)creates the part links of a split model: hard links where the
// file system allows, symbolic links otherwise.
func (s *Store) link(m *Manifest) error {
	dir := s.linkDir(m.Name)
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if len(m.Files) < 2 {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	for _, b := range m.Files {
		blob, _, err := s.Blob(b.Digest)
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, b.Name)
		if err := os.Link(blob, dst); err != nil {
			if err := os.Symlink(blob, dst); err != nil {
				return fmt.Errorf("store: linking part %s of %q: %w", b.Name, m.Name, err)
			}
		}
	}
	return nil
}

// writeJSON writes v to path through a temporary file and a rename, so
// readers see the old or the new content, never a mix.
func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	_, err = tmp.Write(append(data, '\n'))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("store: writing %s: %w", path, err)
	}
	return nil
}
