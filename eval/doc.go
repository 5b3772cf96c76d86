// Package eval runs benchmarks on local and remote models side by side and
// scores reasoning models correctly.
//
// An eval directory holds:
//
//	results.json   Results: per task and model, accuracy with its 95% confidence
//	               interval, pass@k, cons@K, tokens, time
//	samples.jsonl  one Sample per (task, model, item, sample, thinking budget):
//	               the prompt, the raw answer, the reasoning, the extracted answer
//	               and the verdict
//
// Package eval/report draws report.html from those two files.
package eval
