// Package hub downloads GGUF models from Hugging Face into the local store.
//
// A Client lists a repository's files through the Hub API
// (GET {endpoint}/api/models/{repo}/tree/{revision}?recursive=true, with the
// SHA-256 of each LFS file) and downloads from
// {endpoint}/{repo}/resolve/{revision}/{file}, following the redirect to the
// CDN. Downloads resume with HTTP Range from the bytes already on disk, are
// verified against the published SHA-256 (a mismatch deletes the partial
// file), retry transient failures (5xx, 429, dropped connections, stalls)
// with exponential backoff, and report progress.
//
// The environment configures NewFromEnv: HF_ENDPOINT (a mirror, or a test
// server), HF_TOKEN (bearer token for gated and private repositories), and
// QILIN_OFFLINE=1, which makes every network operation fail with ErrOffline
// before opening a connection.
//
// Dataset repositories are named "datasets/ORG/NAME" (DatasetPrefix), as
// the Hub's URLs write them: ListFiles, Download and FetchFile then use
// {endpoint}/api/datasets/... and {endpoint}/datasets/.../resolve/...
// (qilin eval's task data).
//
// ParseRef reads the references users type (hf.co/ORG/REPO[:QUANT],
// hf.co/ORG/REPO/FILE.gguf, or a short name from ShortNames), Pick chooses the
// files of one quantization, and Pull ties it together with package store.
package hub
