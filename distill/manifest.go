package distill

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/qilin-ai/qilin/internal/jsonl"
)

// ManifestFormat names the layout of a collection directory.
const ManifestFormat = "qilin.distill.collect/1"

// Manifest is manifest.json: what a collection holds and how it was made.
// It is rewritten at the start of each run (Complete false) and at its end.
type Manifest struct {
	Format  string      `json:"format"`
	Teacher TeacherInfo `json:"teacher"`
	// Params are the generation parameters; Seed is the base seed.
	Params  Params  `json:"params"`
	System  string  `json:"system,omitempty"` // the --system prompt
	Filters Filters `json:"filters"`
	Prompts int     `json:"prompts"`
	Samples int     `json:"samples"` // asked for per prompt
	Counts  Counts  `json:"counts"`
	Tokens  Tokens  `json:"tokens"`
	// Errors counts failed attempts by kind (rate_limited, server_error,
	// stream_cut, connection, timeout, ...) over all runs, retried ones
	// included.
	Errors map[string]int `json:"errors"`
	// SamplesSHA256 is the SHA-256 (hex) of samples.jsonl as written.
	SamplesSHA256 string `json:"samples_sha256"`
	// Complete: every (prompt, sample) has a record.
	Complete bool `json:"complete"`
}

// Counts are the records of a collection.
type Counts struct {
	Wanted    int            `json:"wanted"`    // prompts × samples
	Collected int            `json:"collected"` // records, kept or rejected, of these prompts
	Kept      int            `json:"kept"`      // lines of samples.jsonl
	Rejected  map[string]int `json:"rejected"`  // by filter
	Missing   int            `json:"missing"`   // wanted and not collected
}

// Tokens sum the usage of the records (kept and rejected).
type Tokens struct {
	Prompt     int64 `json:"prompt"`
	Completion int64 `json:"completion"`
	Reasoning  int64 `json:"reasoning,omitempty"`
}

// ReadManifest reads DIR/manifest.json.
func ReadManifest(dir string) (*Manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %v", filepath.Join(dir, ManifestFile), err)
	}
	return &m, nil
}

func writeManifest(dir string, m *Manifest) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return jsonl.WriteFileAtomic(filepath.Join(dir, ManifestFile), append(b, '\n'))
}
