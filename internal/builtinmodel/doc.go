// Package builtinmodel holds the small trained model that ships inside the
// qilin binary, so that a fresh install generates text offline with no model
// argument: stories260K, a 260K-parameter llama2.c model trained on
// TinyStories (MIT licence; see docs/models.md for where it comes from).
//
// It answers to the name Name; commands that take a model use it when none
// is given. It has no chat template: it continues a story, it does not chat.
package builtinmodel
