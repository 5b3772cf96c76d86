// Package train fine-tunes and distills students of the llama and qwen2
// architectures in pure Go, the way llm.c's train_gpt2.c does: an explicit
// forward and backward for exactly the layers qilin runs (RMSNorm, RoPE in
// both layouts, grouped-query attention with optional q/k/v biases,
// SwiGLU, tied or untied output), float32 parameters, gradients and
// activations each in buffers allocated once, and matrix products on the
// float32 GEMM of package kernels.
//
// Training is float32 throughout; it does not reuse package model, whose
// inference numerics follow llama.cpp's quantized arithmetic. Only the
// rotary angles, the RMSNorm roundings and SwiGLU's arithmetic are shared
// with inference (through kernels), so that a trained student computes at
// inference what it computed in training.
//
// A Trainer reads conversations (the messages JSONL that qilin distill
// collect writes), renders them with the model's chat template, packs them
// into rows whose attention never crosses a document boundary, and
// optimizes cross-entropy on the assistant's tokens (reasoning included),
// optionally mixed with logit distillation from the teacher's recorded
// top-k log-probabilities or from a teacher run alongside. It writes a GGUF
// file that qilin and llama.cpp load, atomic checkpoints that resume bit
// for bit, train.jsonl and a loss curve.
package train
