package builtinmodel

import (
	_ "embed"

	"github.com/qilin-ai/qilin/gguf"
)

// Name is the name the built-in model answers to, in listings and as a
// model argument.
const Name = "stories260k"

// FileName is the embedded GGUF file's name.
const FileName = "stories260K.gguf"

// SHA256 is the hex SHA-256 of the embedded file.
const SHA256 = "270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d"

// Arch and Quant are the model's architecture and tensor type, for
// listings without opening it.
const (
	Arch  = "llama"
	Quant = "F32"
)

// Description is one line on what the model is.
const Description = "built in: llama2.c TinyStories 260K (MIT), story completion only, no chat template"

//go:embed stories260K.gguf
var file []byte

// Size returns the embedded file's size in bytes.
func Size() int64 { return int64(len(file)) }

// Open parses the embedded model. Its tensors view a private copy of the
// file (so that they are as aligned as a fresh allocation and nothing can
// change the embedded bytes); Close is a no-op.
func Open() (*gguf.File, error) {
	buf := make([]byte, len(file))
	copy(buf, file)
	return gguf.Parse(buf)
}
