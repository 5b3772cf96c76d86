package distill_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/qilin-ai/qilin/distill"
	"github.com/qilin-ai/qilin/remote"
	"github.com/qilin-ai/qilin/remote/remotetest"
)

// clean collects prompts from a well-behaved fake and returns
// samples.jsonl and the manifest.
func clean(t *testing.T, prompts []distill.Prompt, knobs remotetest.Knobs, edit func(*distill.Config)) ([]byte, *distill.Manifest) {
	t.Helper()
	s := remotetest.New(t, knobs)
	dir := t.TempDir()
	cfg := fakeConfig(t, s, prompts)
	if edit != nil {
		edit(&cfg)
	}
	collect(t, dir, cfg)
	m, err := distill.ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	return readFile(t, dir, distill.SamplesFile), m
}

func TestCollectSurvivesFaults(t *testing.T) {
	prompts := testPrompts(12)
	want, wantM := clean(t, prompts, remotetest.Knobs{}, nil)
	s := remotetest.New(t, remotetest.Knobs{Seed: 7, Rate429: 0.15, Rate500: 0.15, RateCut: 0.15, CutAfter: 4})
	dir := t.TempDir()
	cfg := fakeConfig(t, s, prompts)
	cfg.Logf = t.Logf
	res := collect(t, dir, cfg)
	faults, _ := s.Stats()
	if faults[remotetest.Status429] == 0 || faults[remotetest.Status500] == 0 || faults[remotetest.Cut] == 0 {
		t.Fatalf("the fake injected %v: want every kind", faults)
	}
	if got := readFile(t, dir, distill.SamplesFile); !bytes.Equal(got, want) {
		t.Errorf("samples.jsonl after faults differs from a clean run's")
	}
	m, _ := distill.ReadManifest(dir)
	if m.SamplesSHA256 != wantM.SamplesSHA256 || res.Failed != 0 {
		t.Errorf("sha %s, want %s; %d failed", m.SamplesSHA256, wantM.SamplesSHA256, res.Failed)
	}
	if m.Errors[remote.KindRateLimited] != faults[remotetest.Status429] || m.Errors[remote.KindServer] != faults[remotetest.Status500] ||
		m.Errors[remote.KindStreamCut] != faults[remotetest.Cut] {
		t.Errorf("manifest errors %v, the fake injected %v", m.Errors, faults)
	}
	t.Logf("faults injected %v; errors recorded %v", faults, m.Errors)
}

// TestCollectResume interrupts collections at several points, damages the
// last line as a kill during a write would, and checks that the rerun
// ends with the files of an uninterrupted run.
func TestCollectResume(t *testing.T) {
	prompts := testPrompts(10)
	want, wantM := clean(t, prompts, remotetest.Knobs{}, nil)
	for _, stopAfter := range []int{1, 7, 19} {
		s := remotetest.New(t, remotetest.Knobs{})
		dir := t.TempDir()
		cfg := fakeConfig(t, s, prompts)
		ctx, cancel := context.WithCancel(context.Background())
		var n atomic.Int32
		cfg.OnProgress = func(distill.Progress) {
			if n.Add(1) == int32(stopAfter) {
				cancel()
			}
		}
		_, err := distill.Collect(ctx, dir, cfg)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("interrupted run: %v", err)
		}
		// A kill in the middle of an append leaves a torn line.
		f, _ := os.OpenFile(filepath.Join(dir, distill.SamplesFile), os.O_APPEND|os.O_WRONLY, 0)
		f.WriteString(`{"prompt_id":"p3","sample":1,"messages":[{"role":"us`)
		f.Close()
		var notes []string
		cfg = fakeConfig(t, s, prompts)
		cfg.Logf = func(f string, a ...any) { notes = append(notes, f) }
		before := len(s.Requests())
		res := collect(t, dir, cfg)
		if got := readFile(t, dir, distill.SamplesFile); !bytes.Equal(got, want) {
			t.Errorf("stopped after %d: resumed samples.jsonl differs from an uninterrupted run's", stopAfter)
		}
		m, _ := distill.ReadManifest(dir)
		if m.SamplesSHA256 != wantM.SamplesSHA256 || !m.Complete {
			t.Errorf("stopped after %d: manifest %+v", stopAfter, m)
		}
		if asked := len(s.Requests()) - before; asked != res.New || res.New+stopAfter > 30+3 {
			t.Errorf("stopped after %d: the rerun sent %d requests for %d new records", stopAfter, asked, res.New)
		}
		if !strings.Contains(strings.Join(notes, "\n"), "half-written") {
			t.Errorf("stopped after %d: no note of the dropped line: %q", stopAfter, notes)
		}
	}
}

func TestCollectRefusesOtherParameters(t *testing.T) {
	s := remotetest.New(t, remotetest.Knobs{})
	prompts := testPrompts(2)
	dir := t.TempDir()
	collect(t, dir, fakeConfig(t, s, prompts))
	for name, edit := range map[string]func(*distill.Config){
		"temperature": func(c *distill.Config) { c.Params.Temperature = ptr(1.0) },
		"seed":        func(c *distill.Config) { c.Params.Seed = 1 },
		"teacher":     func(c *distill.Config) { c.Info.Model = "other" },
		"system":      func(c *distill.Config) { c.System = "be brief" },
	} {
		cfg := fakeConfig(t, s, prompts)
		edit(&cfg)
		if _, err := distill.Collect(context.Background(), dir, cfg); err == nil || !strings.Contains(err.Error(), "use the same parameters") {
			t.Errorf("changed %s: %v", name, err)
		}
	}
	// More samples, more prompts, other limits are fine.
	cfg := fakeConfig(t, s, testPrompts(3))
	cfg.Samples, cfg.Concurrency = 4, 1
	if res := collect(t, dir, cfg); res.New != 12-6 {
		t.Errorf("growing to 3 prompts × 4 samples added %d, want 6", res.New)
	}
}

func TestCollectStopsOnAuthError(t *testing.T) {
	s := remotetest.New(t, remotetest.Knobs{Key: "right"})
	cfg := fakeConfig(t, s, testPrompts(20))
	_, err := distill.Collect(context.Background(), t.TempDir(), cfg)
	var e *remote.Error
	if !errors.As(err, &e) || e.Status != 401 {
		t.Fatalf("error %v, want the 401", err)
	}
	if n := len(s.Requests()); n > cfg.Concurrency {
		t.Errorf("%d requests after a 401, want at most the %d in flight", n, cfg.Concurrency)
	}
}

func TestCollectGivesUpOnADeadEndpoint(t *testing.T) {
	s := remotetest.New(t, remotetest.Knobs{Rate500: 1})
	cfg := fakeConfig(t, s, testPrompts(20))
	cfg.Teacher.(*remote.Client).Retries = 1
	cfg.Concurrency = 2
	dir := t.TempDir()
	res, err := distill.Collect(context.Background(), dir, cfg)
	if err == nil || !strings.Contains(err.Error(), "in a row failed") {
		t.Fatalf("error %v", err)
	}
	if res.Failed < 7 || res.Failed > 9 {
		t.Errorf("%d requests failed before giving up, want 7 (2 × 2 + 3) plus those in flight", res.Failed)
	}
	if m, _ := distill.ReadManifest(dir); m.Counts.Missing != 60 || m.Errors[remote.KindServer] < 2*res.Failed {
		t.Errorf("manifest %+v", m)
	}
}
