package distill

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/qilin-ai/qilin/internal/jsonl"
)

// Files of a collection's directory.
const (
	SamplesFile  = "samples.jsonl"  // kept records, the dataset
	RejectedFile = "rejected.jsonl" // records a filter dropped (kept so they are not asked for again)
	ManifestFile = "manifest.json"
)

// dataset is a collection directory opened for appending. Records are
// appended as they arrive (in completion order), each batch in one write
// followed by fsync; finish rewrites both files in canonical order.
type dataset struct {
	dir     string
	unlock  func()
	mu      sync.Mutex
	records map[key]*Record // what the files hold
	files   [2]*os.File     // samples, rejected
	app     *jsonl.Appender
	// torn counts half-written last lines dropped when opening.
	torn int
}

// openDataset opens (creating) dir, takes its lock, completes or undoes an
// interrupted rewrite, drops a half-written last line, and loads the
// records.
func openDataset(dir string) (*dataset, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	unlock, err := jsonl.LockDir(dir, "qilin distill collect")
	if err != nil {
		return nil, err
	}
	d := &dataset{dir: dir, unlock: unlock, records: map[key]*Record{}}
	if err := d.recover(); err != nil {
		unlock()
		return nil, err
	}
	for i, name := range []string{SamplesFile, RejectedFile} {
		f, err := d.load(name, i == 1)
		if err != nil {
			d.close()
			return nil, err
		}
		d.files[i] = f
	}
	if err := jsonl.SyncDir(dir); err != nil {
		d.close()
		return nil, err
	}
	d.app = jsonl.NewAppender(d.files[:]...)
	return d, nil
}

func (d *dataset) path(name string) string { return filepath.Join(d.dir, name) }

// recover finishes a rewrite that reached its commit point (rejected.jsonl
// renamed: only samples.jsonl.new is left) and discards one that did not.
func (d *dataset) recover() error {
	sNew, rNew := d.path(SamplesFile+".new"), d.path(RejectedFile+".new")
	_, sErr := os.Stat(sNew)
	_, rErr := os.Stat(rNew)
	switch {
	case sErr == nil && errors.Is(rErr, os.ErrNotExist):
		return os.Rename(sNew, d.path(SamplesFile))
	case rErr == nil:
		os.Remove(sNew)
		return os.Remove(rNew)
	}
	return nil
}

// load reads the records of one file and returns it open for appending. A
// last line without its newline (the job was killed while writing it) is
// cut off; any other line that is not a record is an error.
func (d *dataset) load(name string, rejected bool) (*os.File, error) {
	f, err := os.OpenFile(d.path(name), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	torn, err := jsonl.Load(f, func(line int, b []byte) error {
		rec, err := parseRecord(b)
		if err != nil {
			return fmt.Errorf("%s line %d is not a record (%v): repair or remove it", d.path(name), line, err)
		}
		if _, dup := d.records[rec.key()]; !dup {
			if !rejected {
				rec.Rejected = ""
			}
			d.records[rec.key()] = rec
		}
		return nil
	})
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if torn {
		d.torn++
	}
	return f, nil
}

// add appends rec to samples.jsonl, or rejected.jsonl when rec.Rejected
// is set. It does not wait for the write. It is safe for concurrent use.
func (d *dataset) add(rec *Record) {
	d.mu.Lock()
	d.records[rec.key()] = rec
	d.mu.Unlock()
	i := 0
	if rec.Rejected != "" {
		i = 1
	}
	d.app.Add(i, append(marshal(rec), '\n'))
}

// finish waits for the appends, then rewrites both files with the records
// in order, each kept or rejected as verdict says, and returns the SHA-256
// of the new samples.jsonl.
func (d *dataset) finish(order []*Record, verdict func(*Record) string) (string, error) {
	if err := d.app.Close(); err != nil {
		return "", err
	}
	var kept, rejected bytes.Buffer
	for _, rec := range order {
		rec.Rejected = verdict(rec)
		if rec.Rejected == "" {
			kept.Write(marshal(rec))
			kept.WriteByte('\n')
		} else {
			rejected.Write(marshal(rec))
			rejected.WriteByte('\n')
		}
	}
	// rejected.jsonl.new is written first and renamed first: its rename is
	// the commit point that recover looks for.
	sNew, rNew := d.path(SamplesFile+".new"), d.path(RejectedFile+".new")
	if err := jsonl.WriteSynced(rNew, rejected.Bytes()); err != nil {
		return "", err
	}
	if err := jsonl.WriteSynced(sNew, kept.Bytes()); err != nil {
		return "", err
	}
	for i := range d.files {
		d.files[i].Close()
		d.files[i] = nil
	}
	if err := os.Rename(rNew, d.path(RejectedFile)); err != nil {
		return "", err
	}
	if err := os.Rename(sNew, d.path(SamplesFile)); err != nil {
		return "", err
	}
	if err := jsonl.SyncDir(d.dir); err != nil {
		return "", err
	}
	h := sha256.Sum256(kept.Bytes())
	return hex.EncodeToString(h[:]), nil
}

// close releases the files and the lock.
func (d *dataset) close() {
	if d.app != nil {
		d.app.Close()
	}
	for _, f := range d.files {
		if f != nil {
			f.Close()
		}
	}
	d.unlock()
}
