package hub

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"time"

	"github.com/qilin-ai/qilin/gguf"
	"github.com/qilin-ai/qilin/store"
)

// Meter shows the progress of one file's download.
type Meter interface {
	// Set reports the bytes on disk so far.
	Set(done int64)
	// Finish ends the display.
	Finish()
}

// PullOptions configures Pull. The zero value shows nothing.
type PullOptions struct {
	// Meter, if set, is called for each file to download, with its name
	// and size, and returns the meter for it.
	Meter func(file string, size int64) Meter
	// Logf, if set, receives notes: the file chosen, a fallback
	// quantization, files already present.
	Logf func(format string, args ...any)
}

func (o *PullOptions) logf(format string, args ...any) {
	if o.Logf != nil {
		o.Logf(format, args...)
	}
}

// Pull makes the model ref (see ParseRef) present in s and records it
// under its canonical name, which it returns in the manifest. Files already
// in the store are not fetched again, interrupted downloads resume, and
// concurrent pulls of the same files fetch them once. In offline mode Pull
// succeeds without the network when the model is already present, and
// otherwise fails with ErrOffline.
func Pull(ctx context.Context, c *Client, s *store.Store, ref string, opts PullOptions) (*store.Manifest, error) {
	r, err := ParseRef(ref)
	if err != nil {
		return nil, err
	}
	old, err := s.Get(r.Name)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	if c.Offline {
		if old != nil {
			if _, err := s.Parts(r.Name); err == nil {
				opts.logf("%s is already in the store (offline: not checking for updates)", r.Name)
				return old, nil
			}
		}
		return nil, fmt.Errorf("hub: cannot pull %s: %w", r.Name, ErrOffline)
	}
	files, err := c.ListFiles(ctx, r.Repo, "")
	if err != nil {
		return nil, err
	}
	var chosen []File
	quant := r.Quant
	if r.File != "" {
		chosen, err = PickFile(files, r.File)
		quant = QuantOf(r.File)
	} else {
		chosen, quant, err = Pick(files, r.Quant)
		if err == nil && quant != r.Quant {
			opts.logf("hf.co/%s has no %s file; taking %s, the closest", r.Repo, r.Quant, quant)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("hub: hf.co/%s: %w", r.Repo, err)
	}
	m := &store.Manifest{Name: r.Name, Source: "hf.co/" + r.Repo, Quant: quant, PulledAt: time.Now().UTC()}
	if old != nil {
		m.LastUsed = old.LastUsed
	}
	for _, f := range chosen {
		b, err := FetchFile(ctx, c, s, r.Repo, "", f, opts)
		if err != nil {
			return nil, err
		}
		m.Files = append(m.Files, b)
		m.Size += b.Size
	}
	m.Arch = archOf(s, m, &opts)
	if err := s.Put(ctx, m); err != nil {
		return nil, err
	}
	return m, nil
}

// FetchFile makes file f of repo at revision (empty means "main")
// present in s as a blob and returns it, as Pull does each file: an LFS
// file already there is not fetched again, an interrupted download
// resumes, and the content is checked against the listed SHA-256 (a file
// kept in git gets the SHA-256 of the bytes received). opts.Meter, when
// set, shows the download.
func FetchFile(ctx context.Context, c *Client, s *store.Store, repo, revision string, f File, opts PullOptions) (store.Blob, error) {
	b := store.Blob{Name: path.Base(f.Path), Size: f.Size}
	download := func(dst string) (string, error) {
		var meter Meter
		if opts.Meter != nil {
			meter = opts.Meter(b.Name, f.Size)
			defer meter.Finish()
		}
		var progress func(int64)
		if meter != nil {
			progress = meter.Set
		}
		return c.Download(ctx, repo, revision, f, dst, progress)
	}
	if f.SHA256 != "" {
		d, err := store.Digest(f.SHA256)
		if err != nil {
			return b, fmt.Errorf("hub: hf.co/%s/%s: %w", repo, f.Path, err)
		}
		b.Digest = d
		if _, ok, err := s.Blob(d); err == nil && ok {
			opts.logf("%s: already in the store", b.Name)
			return b, nil
		}
		_, err = s.FetchBlob(ctx, d, func(partial string) error {
			_, err := download(partial)
			return err
		})
		return b, err
	}
	// Not an LFS file: the digest is known once the bytes are.
	tmp, err := s.TempFile()
	if err != nil {
		return b, err
	}
	tmp.Close()
	sum, err := download(tmp.Name())
	if err == nil {
		b.Digest, err = store.Digest(sum)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return b, err
	}
	_, err = s.AddFile(tmp.Name(), b.Digest)
	return b, err
}

// archOf reads general.architecture from the first file's GGUF header.
// A file the reader rejects still pulls (its bytes are the Hub's, checked
// by hash); the note says why the architecture is unknown.
func archOf(s *store.Store, m *store.Manifest, opts *PullOptions) string {
	p, _, err := s.Blob(m.Files[0].Digest)
	if err != nil {
		return ""
	}
	f, err := gguf.Open(p)
	if err != nil {
		opts.logf("%s: cannot read the GGUF header: %v", m.Files[0].Name, err)
		return ""
	}
	defer f.Close()
	return f.Arch()
}
