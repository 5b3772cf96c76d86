// Package gguf reads and writes GGUF model files, the format of llama.cpp and
// ggml.
//
// A GGUF file is a header of typed key/value metadata and tensor
// descriptions followed by an aligned data section holding the tensor bytes.
// Open maps the file into memory (falling back to reading it) and returns a
// File whose tensors' Data are views of exactly their bytes; Parse does the
// same for bytes already in memory. Versions 2 and 3 are read; version 1
// and big-endian files are refused with an error.
//
// Every count, length, dimension and offset in a file is checked against the
// bytes actually present before it is used, so a truncated or hostile file
// yields an error naming the problem, never a panic or an out-of-range read.
//
// The package knows nothing about models: it exposes metadata through typed
// accessors with defaults (String, Uint, Int, Float, Bool, Strings, ...) and
// tensors by their GGUF names. Writer produces files for tests and tools.
package gguf
