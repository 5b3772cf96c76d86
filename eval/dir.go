package eval

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/qilin-ai/qilin/internal/jsonl"
)

// Files of an eval directory.
const (
	SamplesFile = "samples.jsonl"
	ResultsFile = "results.json"
)

// key is a sample's place: what was asked of which model.
type key struct {
	task, model, id string
	sample          int
	budget          int // -1: unbounded
	mode            string
}

func budgetKey(b *int) int {
	if b == nil {
		return -1
	}
	return *b
}

func (s *Sample) key() key {
	return key{s.Task, s.Model, s.ID, s.Sample, budgetKey(s.ThinkBudget), s.Mode}
}

// evalDir is an eval directory opened for appending samples: each sample
// is appended (and fsynced, in group commits) as it is scored, a
// half-written last line left by a killed run is dropped when the
// directory is opened again, and what is there is never asked again.
type evalDir struct {
	dir    string
	unlock func()
	file   *os.File
	app    *jsonl.Appender

	mu      sync.Mutex
	samples map[key]*Sample
	torn    bool
}

func openDir(dir string) (*evalDir, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	unlock, err := jsonl.LockDir(dir, "qilin eval")
	if err != nil {
		return nil, err
	}
	d := &evalDir{dir: dir, unlock: unlock, samples: map[key]*Sample{}}
	path := filepath.Join(dir, SamplesFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		unlock()
		return nil, err
	}
	d.torn, err = jsonl.Load(f, func(n int, line []byte) error {
		var s Sample
		if err := json.Unmarshal(line, &s); err != nil || s.Task == "" || s.Model == "" || s.ID == "" || s.Mode == "" {
			return fmt.Errorf("%s line %d is not a sample (%v): repair or remove it", path, n, err)
		}
		d.samples[s.key()] = &s
		return nil
	})
	if err != nil {
		f.Close()
		unlock()
		return nil, err
	}
	d.file = f
	d.app = jsonl.NewAppender(f)
	return d, nil
}

// has reports whether the directory holds a sample for k.
func (d *evalDir) has(k key) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, ok := d.samples[k]
	return ok
}

// add records s and appends it to samples.jsonl; it does not wait for the
// write.
func (d *evalDir) add(s *Sample) {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err) // a Sample always marshals
	}
	d.mu.Lock()
	d.samples[s.key()] = s
	d.mu.Unlock()
	d.app.Add(0, append(b, '\n'))
}

// finish waits for the appends and rewrites samples.jsonl with the
// samples in order (atomically), then releases the directory.
func (d *evalDir) finish(order []*Sample) error {
	err := d.app.Close()
	if err == nil {
		var b bytes.Buffer
		for _, s := range order {
			line, _ := json.Marshal(s)
			b.Write(line)
			b.WriteByte('\n')
		}
		err = jsonl.WriteFileAtomic(filepath.Join(d.dir, SamplesFile), b.Bytes())
	}
	d.close()
	return err
}

func (d *evalDir) close() {
	d.app.Close()
	d.file.Close()
	d.unlock()
}

// writeResults writes results.json atomically.
func writeResults(dir string, r *Results) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return jsonl.WriteFileAtomic(filepath.Join(dir, ResultsFile), append(b, '\n'))
}

// ReadResults reads DIR/results.json.
func ReadResults(dir string) (*Results, error) {
	b, err := os.ReadFile(filepath.Join(dir, ResultsFile))
	if err != nil {
		return nil, err
	}
	var r Results
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("eval: %s: %w", filepath.Join(dir, ResultsFile), err)
	}
	return &r, nil
}

// ReadSamples reads DIR/samples.jsonl (a half-written last line is
// skipped).
func ReadSamples(dir string) ([]Sample, error) {
	b, err := os.ReadFile(filepath.Join(dir, SamplesFile))
	if err != nil {
		return nil, err
	}
	var out []Sample
	for n, line := range bytes.SplitAfter(b, []byte("\n")) {
		if len(line) == 0 || line[len(line)-1] != '\n' {
			continue
		}
		var s Sample
		if err := json.Unmarshal(line, &s); err != nil {
			return nil, fmt.Errorf("eval: %s line %d: %w", SamplesFile, n+1, err)
		}
		out = append(out, s)
	}
	return out, nil
}
