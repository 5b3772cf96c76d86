package distill

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/qilin-ai/qilin/internal/jsonl"
	"github.com/qilin-ai/qilin/remote"
)

// Files of a collection's directory.
const (
	SamplesFile  = "samples.jsonl"  // kept records, the dataset
	RejectedFile = "rejected.jsonl" // records a filter dropped (kept so they are not asked for again)
	ManifestFile = "manifest.json"
)

// dataset is a collection directory opened for appending. Records are
// appended as they arrive (in completion order), each batch in one write
// followed by fsync; finish rewrites both files in canonical order. Only an
// index of the records stays in memory, not the records: a collection of
// any size is rewritten one record at a time.
type dataset struct {
	dir    string
	unlock func()
	mu     sync.Mutex
	index  map[key]entry // what the files hold
	size   [2]int64      // of the files, appends included
	files  [2]*os.File   // samples, rejected
	app    *jsonl.Appender
	// first is the first record loaded, without its conversation: the
	// teacher and parameters of a dataset that has no manifest.
	first *Record
	// torn counts half-written last lines dropped when opening.
	torn int
}

// entry is where a record's line is, with what the manifest counts.
type entry struct {
	file     int   // 0: samples, 1: rejected
	off      int64 // of the line in its file
	n        int   // bytes, the newline included
	rejected string
	usage    remote.Usage
}

// openDataset opens (creating) dir, takes its lock, completes or undoes an
// interrupted rewrite, drops a half-written last line, and indexes the
// records.
func openDataset(dir string) (*dataset, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	unlock, err := jsonl.LockDir(dir, "qilin distill collect")
	if err != nil {
		return nil, err
	}
	d := &dataset{dir: dir, unlock: unlock, index: map[key]entry{}}
	if err := d.recover(); err != nil {
		unlock()
		return nil, err
	}
	for i, name := range []string{SamplesFile, RejectedFile} {
		f, err := d.load(name, i)
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

// load indexes the records of file i (0: samples, 1: rejected) and
// returns it open for appending. A last line without its newline (the job
// was killed while writing it) is cut off; any other line that is not a
// record is an error.
func (d *dataset) load(name string, i int) (*os.File, error) {
	f, err := os.OpenFile(d.path(name), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	torn, err := jsonl.Load(f, func(line int, b []byte) error {
		rec, err := parseRecord(b)
		if err != nil {
			return fmt.Errorf("%s line %d is not a record (%v): repair or remove it", d.path(name), line, err)
		}
		if _, dup := d.index[rec.key()]; !dup {
			e := entry{file: i, off: d.size[i], n: len(b), usage: rec.Usage}
			if i == 1 {
				e.rejected = rec.Rejected
			}
			d.index[rec.key()] = e
		}
		if d.first == nil {
			d.first = &Record{PromptID: rec.PromptID, Sample: rec.Sample, Teacher: rec.Teacher, Params: rec.Params}
		}
		d.size[i] += int64(len(b))
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

// has reports whether the files hold a record for k.
func (d *dataset) has(k key) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, ok := d.index[k]
	return ok
}

// add appends rec to samples.jsonl, or rejected.jsonl when rec.Rejected
// is set. It does not wait for the write. It is safe for concurrent use.
func (d *dataset) add(rec *Record) {
	line := append(marshal(rec), '\n')
	i := 0
	if rec.Rejected != "" {
		i = 1
	}
	// The appender writes each file's lines in the order of Add: under
	// the lock, the line's offset is the file's size so far.
	d.mu.Lock()
	defer d.mu.Unlock()
	d.index[rec.key()] = entry{file: i, off: d.size[i], n: len(line), rejected: rec.Rejected, usage: rec.Usage}
	d.size[i] += int64(len(line))
	d.app.Add(i, line)
}

// read reads the record at e.
func (d *dataset) read(e entry) (*Record, error) {
	b := make([]byte, e.n)
	if _, err := d.files[e.file].ReadAt(b, e.off); err != nil {
		return nil, err
	}
	return parseRecord(b)
}

// finish waits for the appends, then rewrites both files with the records
// of order, each kept or rejected as verdict says, and returns the SHA-256
// of the new samples.jsonl; the index takes the verdicts. It reads,
// judges and writes one record at a time.
func (d *dataset) finish(order []key, verdict func(*Record) string) (string, error) {
	if err := d.app.Close(); err != nil {
		return "", err
	}
	// rejected.jsonl.new is written first and renamed first: its rename is
	// the commit point that recover looks for. Both are written at once,
	// and rejected.jsonl.new is synced first.
	sNew, rNew := d.path(SamplesFile+".new"), d.path(RejectedFile+".new")
	// rejected.jsonl.new is created first: while it exists, recover
	// discards both.
	rejected, err := jsonl.Create(rNew)
	if err != nil {
		return "", err
	}
	defer rejected.Abort()
	kept, err := jsonl.Create(sNew)
	if err != nil {
		return "", err
	}
	defer kept.Abort()
	h := sha256.New()
	for _, k := range order {
		e := d.index[k]
		rec, err := d.read(e)
		if err != nil {
			return "", fmt.Errorf("distill: rereading %s sample %d: %w", k.prompt, k.sample, err)
		}
		rec.Rejected = verdict(rec)
		e.rejected = rec.Rejected // for the manifest
		d.index[k] = e
		line := append(marshal(rec), '\n')
		if rec.Rejected == "" {
			h.Write(line)
			kept.Write(line)
		} else {
			rejected.Write(line)
		}
	}
	if err := rejected.Close(); err != nil {
		return "", err
	}
	if err := kept.Close(); err != nil {
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
	return hex.EncodeToString(h.Sum(nil)), nil
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
