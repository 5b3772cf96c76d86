package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/qilin-ai/qilin/eval"
)

// The files of an eval directory: the two that package eval writes, and
// the page this package draws from them.
const (
	ResultsFile = eval.ResultsFile
	SamplesFile = eval.SamplesFile
	ReportFile  = "report.html"
)

// run is one eval directory as read from disk.
type run struct {
	dir     string
	results *eval.Results
	samples *sampleSet
	// haveSamples is false when the directory has no samples.jsonl.
	haveSamples bool
	// torn is set when the last line of samples.jsonl was cut short (a
	// run killed while writing it) and was left out.
	torn bool
}

// load reads DIR/results.json and, when present, DIR/samples.jsonl.
func load(dir string) (*run, error) {
	r := &run{dir: dir, samples: newSampleSet()}
	b, err := os.ReadFile(filepath.Join(dir, ResultsFile))
	if err != nil {
		return nil, fmt.Errorf("eval report: %w", err)
	}
	if r.results, err = parseResults(b); err != nil {
		return nil, fmt.Errorf("eval report: %s: %w", filepath.Join(dir, ResultsFile), err)
	}
	name := filepath.Join(dir, SamplesFile)
	f, err := os.Open(name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return r, nil
	case err != nil:
		return nil, fmt.Errorf("eval report: %w", err)
	}
	defer f.Close()
	r.haveSamples = true
	if r.samples, r.torn, err = readSamples(f); err != nil {
		return nil, fmt.Errorf("eval report: %s: %w", name, err)
	}
	return r, nil
}

// parseResults decodes results.json and checks what the report relies on.
func parseResults(b []byte) (*eval.Results, error) {
	var res eval.Results
	if err := json.Unmarshal(b, &res); err != nil {
		return nil, err
	}
	if res.Tasks == nil {
		return nil, errors.New(`no "tasks" object`)
	}
	for task, models := range res.Tasks {
		for model, s := range models {
			if s == nil {
				return nil, fmt.Errorf("task %q, model %q: null score", task, model)
			}
		}
	}
	return &res, nil
}

// readSamples reads samples.jsonl. A last line without its newline that
// does not parse is a write cut short and is dropped (torn is set); any
// other line that does not parse is an error naming its line number.
func readSamples(r io.Reader) (samples *sampleSet, torn bool, err error) {
	samples = newSampleSet()
	br := bufio.NewReaderSize(r, 1<<16)
	for n := 1; ; n++ {
		line, err := br.ReadBytes('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, false, fmt.Errorf("line %d: %w", n, err)
		}
		complete := bytes.HasSuffix(line, []byte("\n"))
		if len(bytes.TrimSpace(line)) > 0 {
			var s eval.Sample
			if jerr := json.Unmarshal(line, &s); jerr != nil {
				if !complete {
					return samples, true, nil
				}
				return nil, false, fmt.Errorf("line %d: %w", n, jerr)
			}
			samples.add(s)
		}
		if err != nil { // io.EOF
			return samples, false, nil
		}
	}
}
