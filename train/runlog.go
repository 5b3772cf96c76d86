package train

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
)

// RunLog is a run's train.jsonl: one Step a line, appended and flushed as
// the run goes, so that an interrupted run keeps what it logged.
type RunLog struct {
	f     *os.File
	Steps []Step // every line, the ones kept from before a resume included
}

// OpenRunLog creates the log at path, or with resume keeps its lines up to
// step keep (what the checkpoint holds; later lines are of steps the
// resumed run will take again) and appends after them.
func OpenRunLog(path string, resume bool, keep int) (*RunLog, error) {
	l := &RunLog{}
	if resume {
		data, err := os.ReadFile(path)
		if err != nil && !os.IsNotExist(err) {
			return nil, fmt.Errorf("train: %w", err)
		}
		var kept bytes.Buffer
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(make([]byte, 1<<16), 1<<20)
		for sc.Scan() {
			var s Step
			if json.Unmarshal(sc.Bytes(), &s) != nil || s.Step > keep {
				break // a torn last line, or steps past the checkpoint
			}
			l.Steps = append(l.Steps, s)
			kept.Write(sc.Bytes())
			kept.WriteByte('\n')
		}
		if err := replaceFile(path, kept.Bytes()); err != nil {
			return nil, err
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
		l.f = f
		return l, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	l.f = f
	return l, nil
}

// Write appends s.
func (l *RunLog) Write(s Step) error {
	js, err := json.Marshal(s)
	if err != nil {
		return err
	}
	l.Steps = append(l.Steps, s)
	if _, err := l.f.Write(append(js, '\n')); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	return nil
}

// Close closes the file.
func (l *RunLog) Close() error { return l.f.Close() }
