// Package distill collects a teacher's answers into a dataset a student
// can be trained on, and exports it in the layouts trainers read.
//
// Collect asks a Teacher (a remote.Client for an OpenAI-compatible
// endpoint, or Local for a GGUF model run in this process with continuous
// batching) for N samples of every prompt, and keeps exactly what it said:
// the conversation, the answer and its reasoning, the finish reason, the
// usage and, on request, the top-k log-probabilities of every token.
//
// A collection directory holds:
//
//	samples.jsonl   one Record per (prompt id, sample index) kept, in canonical order
//	rejected.jsonl  the records a filter dropped, each with "rejected": the filter's name
//	manifest.json   the Manifest: teacher, parameters, counts, tokens, errors by kind,
//	                and the SHA-256 of samples.jsonl
//
// Collection is resumable and exact: records are appended as answers
// arrive (each batch written at once and fsynced), a half-written last
// line left by a killed run is dropped when the directory is opened again,
// each (prompt, sample) is asked for only while the directory has no
// record of it, and every run ends by rewriting the files in canonical
// order (the prompts' order, then the sample index), so a run killed at
// any moment and run again ends with the files of an uninterrupted run,
// given a teacher that answers each request the same way. Each sample has
// its own seed, derived from the base seed, the prompt id and the index.
//
// Export writes samples.jsonl as TRL's conversational "messages" JSONL
// (reasoning in reasoning_content, or inline as <think>…</think> before
// the answer, the layout open-r1 and OpenThoughts publish) or ShareGPT
// "conversations".
package distill
