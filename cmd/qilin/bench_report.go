package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
)

// llamaBenchTest is one test of llama-bench's `-o json` output (an array
// of them), the fields the report reads.
type llamaBenchTest struct {
	ModelFilename string    `json:"model_filename"`
	BuildCommit   string    `json:"build_commit"`
	NThreads      int       `json:"n_threads"`
	NPrompt       int       `json:"n_prompt"`
	NGen          int       `json:"n_gen"`
	NDepth        int       `json:"n_depth"`
	SamplesTS     []float64 `json:"samples_ts"`
}

// name is the test's name as llama-bench and qilin bench print it: ppN or
// tgN, with " @ dD" after D tokens of context ("" for a combined pp+tg
// test, which qilin does not run).
func (t llamaBenchTest) name() string {
	switch {
	case t.NPrompt > 0 && t.NGen == 0:
		return testName("pp", t.NPrompt, t.NDepth)
	case t.NGen > 0 && t.NPrompt == 0:
		return testName("tg", t.NGen, t.NDepth)
	}
	return ""
}

// benchSeries is what one engine measured on one file and thread count
// over the rounds of a report: every sample of each test, and each round's
// mean (rounds alternate between the engines, so round i of qilin ran
// beside round i of llama.cpp).
type benchSeries struct {
	tests   []string             // in order of appearance
	samples map[string][]float64 // test -> all samples
	rounds  map[string][]float64 // test -> per-round means
	tested  map[string]benchTest // qilin only: test -> its pooled samples and paired bandwidths
	runs    []*benchReport       // qilin only: the rounds' reports
	llama   []llamaBenchTest     // llama.cpp only: the rounds' tests
}

func newSeries() *benchSeries {
	return &benchSeries{samples: map[string][]float64{}, rounds: map[string][]float64{}}
}

func (s *benchSeries) add(test string, samples []float64) {
	if len(samples) == 0 {
		return
	}
	if _, ok := s.samples[test]; !ok {
		s.tests = append(s.tests, test)
	}
	s.samples[test] = append(s.samples[test], samples...)
	m, _ := meanStddev(samples)
	s.rounds[test] = append(s.rounds[test], m)
}

// addTest pools a qilin test's samples with their paired bandwidths, the
// bandwidths of a run that has none for a sample left 0.
func (s *benchSeries) addTest(t benchTest) {
	if s.tested == nil {
		s.tested = map[string]benchTest{}
	}
	p := s.tested[t.Test]
	p.Test, p.Depth = t.Test, t.Depth
	for i, v := range t.Samples {
		p.Samples = append(p.Samples, v)
		bw := 0.0
		if i < len(t.Bandwidth) {
			bw = t.Bandwidth[i]
		}
		p.Bandwidth = append(p.Bandwidth, bw)
	}
	s.tested[t.Test] = p
}

// benchKey names what a series measured: the model file (the model's name
// for a --synthetic run, which has no file) and the thread count.
type benchKey struct {
	model   string
	threads int
}

// benchReportFiles prints a Markdown report of saved outputs: qilin bench
// --json reports and llama-bench -o json outputs, several rounds of each
// allowed. The runs of one file and thread count are merged (their samples
// pooled); llama.cpp's figures appear beside qilin's where llama-bench ran
// on the same file with the same threads, with the ratio of the means and
// the ratio within each round.
func benchReportFiles(w io.Writer, paths []string) error {
	if len(paths) == 0 {
		return usageError("--report needs the JSON files of bench --json runs")
	}
	var order []benchKey
	qilin, llama := map[benchKey]*benchSeries{}, map[benchKey]*benchSeries{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if bytes.HasPrefix(bytes.TrimSpace(b), []byte("[")) {
			var tests []llamaBenchTest
			if err := json.Unmarshal(b, &tests); err != nil {
				return fmt.Errorf("%s: not a llama-bench -o json output: %w", p, err)
			}
			for _, t := range tests {
				if t.name() == "" {
					continue
				}
				k := benchKey{t.ModelFilename, t.NThreads}
				if llama[k] == nil {
					llama[k] = newSeries()
				}
				llama[k].add(t.name(), t.SamplesTS)
				llama[k].llama = append(llama[k].llama, t)
			}
			continue
		}
		r := &benchReport{}
		if err := json.Unmarshal(b, r); err != nil {
			return fmt.Errorf("%s: not a bench --json report: %w", p, err)
		}
		k := benchKey{r.File, r.Threads}
		if r.File == "" {
			k.model = r.Model
		}
		if qilin[k] == nil {
			qilin[k] = newSeries()
			order = append(order, k)
		}
		for _, t := range r.Results {
			qilin[k].add(t.Test, t.Samples)
			qilin[k].addTest(t)
		}
		qilin[k].runs = append(qilin[k].runs, r)
	}
	if len(order) == 0 {
		return fmt.Errorf("no qilin bench --json report among %d files", len(paths))
	}

	merged := make([]*benchReport, len(order))
	for i, k := range order {
		merged[i] = mergeRuns(qilin[k])
	}
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', tabwriter.Debug)
	fmt.Fprintln(tw, "| model\t threads\t pp t/s\t tg t/s\t bandwidth\t tg roofline share\t prefill GFLOP/s\t llama.cpp pp / tg t/s\t qilin / llama.cpp pp, tg\t llama.cpp roofline share |")
	fmt.Fprintln(tw, "| ---\t ---:\t ---:\t ---:\t ---:\t ---:\t ---:\t ---:\t ---:\t ---: |")
	for i, k := range order {
		r := merged[i]
		if !hasShallowTests(r) {
			continue // only tests after a context: its section has them
		}
		pp, tg := "-", "-"
		for _, t := range r.Results {
			if t.Depth > 0 {
				continue // in the model's section
			}
			cell := fmt.Sprintf("%s: %.2f ± %.2f", t.Test, t.TokensPerS, t.Stddev)
			if strings.HasPrefix(t.Test, "pp") {
				pp = cell
			} else {
				tg = cell
			}
		}
		ref, ratio, refShare := "-", "-", "-"
		if l := llama[k]; l != nil {
			var refs, ratios []string
			for _, t := range r.Results {
				if t.Depth > 0 {
					continue
				}
				if s := l.samples[t.Test]; s != nil {
					m, _ := meanStddev(s)
					refs = append(refs, fmt.Sprintf("%.2f", m))
					ratios = append(ratios, fmt.Sprintf("%.2f×", t.TokensPerS/m))
					if strings.HasPrefix(t.Test, "tg") {
						refShare = fmt.Sprintf("%.1f%%", 100*m*float64(r.DecodeBytes)/(r.BandwidthGBs*1e9))
					}
				} else {
					refs, ratios = append(refs, "-"), append(ratios, "-")
				}
			}
			ref, ratio = strings.Join(refs, " / "), strings.Join(ratios, ", ")
		}
		fmt.Fprintf(tw, "| %s\t %d\t %s\t %s\t %.1f GB/s\t %.1f%%\t %.1f\t %s\t %s\t %s |\n", r.Model, r.Threads, pp, tg,
			r.BandwidthGBs, 100*r.RooflineShare, r.PrefillGFLOPs, ref, ratio, refShare)
	}
	tw.Flush()
	for i, k := range order {
		r, q, l := merged[i], qilin[k], llama[k]
		fmt.Fprintf(w, "\n### %s, %d thread(s)\n\n```\n%s\n", r.Model, r.Threads, r.Command)
		if l != nil {
			fmt.Fprintln(w, llamaCommand(l))
		}
		fmt.Fprintln(w, "```")
		fmt.Fprintln(w)
		if n := shallowRounds(q); n > 1 || l != nil {
			what := "qilin"
			if l != nil {
				what = "qilin and llama-bench alternately"
			}
			fmt.Fprintf(w, "%d round(s), %s; the table pools the samples of every round.\n\n", n, what)
		}
		printBench(w, r)
		if l != nil {
			printLlamaComparison(w, r, q, l)
		}
		printDepths(w, r, l)
	}
	return nil
}

// mergeRuns pools the rounds of one qilin series into one report: all
// samples of each test, and the figures derived from them recomputed: the
// roofline share as the mean of every tg sample's share of its paired
// bandwidth pass, the bandwidth as their mean (the best pass of runs
// without paired passes), prefill GFLOP/s; the first round's command, the
// slowest load, the largest resident set.
func mergeRuns(s *benchSeries) *benchReport {
	r := *s.runs[0]
	r.Results = nil
	for _, run := range s.runs[1:] {
		r.BandwidthGBs = max(r.BandwidthGBs, run.BandwidthGBs)
		r.LoadSeconds = max(r.LoadSeconds, run.LoadSeconds)
		r.FirstTokenS = max(r.FirstTokenS, run.FirstTokenS)
		r.ResidentBytes = max(r.ResidentBytes, run.ResidentBytes)
	}
	for _, test := range s.tests {
		t := s.tested[test]
		t.TokensPerS, t.Stddev = meanStddev(t.Samples)
		r.Results = append(r.Results, t)
		switch {
		case t.Depth > 0:
		case strings.HasPrefix(test, "tg"):
			if gbs, share := pairedShare([]benchTest{t}, r.DecodeBytes); gbs > 0 {
				r.BandwidthGBs, r.RooflineShare = gbs, share
			} else if r.BandwidthGBs > 0 {
				r.RooflineShare = t.TokensPerS * float64(r.DecodeBytes) / (r.BandwidthGBs * 1e9)
			}
		case strings.HasPrefix(test, "pp"):
			if n, err := strconv.Atoi(test[2:]); err == nil && n > 0 {
				r.PrefillGFLOPs = r.PrefillFLOPs * t.TokensPerS / float64(n) / 1e9
			}
		}
	}
	return &r
}

// llamaCommand is the llama-bench command line of a series' tests.
func llamaCommand(l *benchSeries) string {
	t := l.llama[0]
	p, n := 0, 0
	var depths []string
	for _, x := range l.llama {
		p, n = max(p, x.NPrompt), max(n, x.NGen)
		if d := strconv.Itoa(x.NDepth); !slices.Contains(depths, d) {
			depths = append(depths, d)
		}
	}
	d := ""
	if len(depths) > 1 || depths[0] != "0" {
		d = " -d " + strings.Join(depths, ",")
	}
	return fmt.Sprintf("llama-bench -m %s -t %d -p %d -n %d%s -r %d -o json", t.ModelFilename, t.NThreads, p, n, d, len(t.SamplesTS))
}

// printLlamaComparison writes llama.cpp's figures beside qilin's merged
// report r: each test's mean and spread, qilin's ratio of the means, and the
// ratio within each round where both engines ran the same rounds.
func printLlamaComparison(w io.Writer, r *benchReport, q, l *benchSeries) {
	var parts []string
	for _, t := range r.Results {
		s := l.samples[t.Test]
		if s == nil {
			continue
		}
		m, sd := meanStddev(s)
		part := fmt.Sprintf("%s %.2f ± %.2f t/s", t.Test, m, sd)
		if strings.HasPrefix(t.Test, "tg") && t.Depth == 0 && r.BandwidthGBs > 0 {
			part += fmt.Sprintf(" (%.1f%% of the roofline)", 100*m*float64(r.DecodeBytes)/(r.BandwidthGBs*1e9))
		}
		part += fmt.Sprintf(", qilin %.2f×", t.TokensPerS/m)
		qr, lr := q.rounds[t.Test], l.rounds[t.Test]
		if len(qr) == len(lr) && len(qr) > 1 {
			var per []string
			for i := range qr {
				per = append(per, fmt.Sprintf("%.2f×", qr[i]/lr[i]))
			}
			part += " (rounds: " + strings.Join(per, ", ") + ")"
		}
		parts = append(parts, part)
	}
	build := l.llama[0].BuildCommit
	if build == "" || build == "unknown" {
		build = "(its llama-bench recorded no build commit: built outside git)"
	}
	fmt.Fprintf(w, "- llama.cpp %s (llama-bench, the same file and threads, on this machine in the same run): %s\n",
		build, strings.Join(parts, "; "))
}

// hasShallowTests reports whether r has a test without a context (-d 0).
func hasShallowTests(r *benchReport) bool {
	return slices.ContainsFunc(r.Results, func(t benchTest) bool { return t.Depth == 0 })
}

// shallowRounds counts the rounds of a qilin series that ran tests without
// a context; runs of depth tests alone are not rounds of the main table.
func shallowRounds(q *benchSeries) int {
	n := 0
	for _, r := range q.runs {
		if hasShallowTests(r) {
			n++
		}
	}
	return n
}

// printDepths writes, when r has tests after a context (-d), a table of
// each tg test's tok/s by depth, for qilin and llama.cpp (l, or nil), with
// each depth's tok/s over the shallowest's.
func printDepths(w io.Writer, r *benchReport, l *benchSeries) {
	var ds []benchTest
	for _, t := range r.Results {
		if t.Depth > 0 && strings.HasPrefix(t.Test, "tg") {
			ds = append(ds, t)
		}
	}
	if len(ds) == 0 {
		return
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', tabwriter.Debug)
	fmt.Fprintln(tw, "| test\t qilin t/s\t of the shallowest\t llama.cpp t/s\t of the shallowest\t qilin / llama.cpp |")
	fmt.Fprintln(tw, "| ---\t ---:\t ---:\t ---:\t ---:\t ---: |")
	var lm0 float64
	for i, t := range ds {
		lcell, lrel, ratio := "-", "-", "-"
		if l != nil && l.samples[t.Test] != nil {
			m, sd := meanStddev(l.samples[t.Test])
			if i == 0 {
				lm0 = m
			}
			lcell, ratio = fmt.Sprintf("%.2f ± %.2f", m, sd), fmt.Sprintf("%.2f×", t.TokensPerS/m)
			if lm0 > 0 {
				lrel = fmt.Sprintf("%.2f", m/lm0)
			}
		}
		fmt.Fprintf(tw, "| %s\t %.2f ± %.2f\t %.2f\t %s\t %s\t %s |\n", t.Test, t.TokensPerS, t.Stddev, t.TokensPerS/ds[0].TokensPerS, lcell, lrel, ratio)
	}
	tw.Flush()
}
