// Package jsonl keeps append-only JSONL files that survive a killed run:
// lines are appended in group-committed, fsynced batches (Appender), a
// half-written last line is cut off when the file is loaded again (Load),
// a directory is locked against a second writer (LockDir), and rewrites
// are atomic (WriteFileAtomic). distill collect and qilin eval resume
// through it.
package jsonl
