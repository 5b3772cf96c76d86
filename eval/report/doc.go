// Package report draws an eval directory's results as one self-contained
// HTML page, and compares two runs.
//
// Write reads DIR/results.json and DIR/samples.jsonl (the formats of
// package eval) and writes DIR/report.html: the results table of each task
// (accuracy with its 95% confidence interval, pass@k, cons@K, tokens, time),
// charts drawn as inline SVG (accuracy per model with error bars, accuracy
// against the thinking budget, tokens and seconds per correct answer) and a
// drill-down into a bounded number of samples. The page loads nothing from
// the network: its style is inline, it has no script, and its
// Content-Security-Policy forbids any fetch. Every text from the files (the
// prompts and answers are hostile text) goes through html/template's
// escaping.
//
// Compare reads two eval directories and puts the tasks they share side by
// side, with the difference in accuracy and whether it is larger than the
// noise; WriteCompare draws that as a page, and Comparison.WriteText as a
// table for a terminal.
package report
