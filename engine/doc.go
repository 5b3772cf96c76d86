// Package engine ties a GGUF file, its model, its tokenizer and a thread pool
// together and generates text: a Sequence evaluates a prompt as batches and
// decodes token by token with a sampler.
package engine
