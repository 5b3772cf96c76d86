// Package tokenizer turns text into token ids and back, exactly as
// llama.cpp (and, through it, Hugging Face tokenizers) does for the
// vocabularies stored in GGUF files.
//
// Two model kinds are supported, named by tokenizer.ggml.model:
//
//   - "llama": SentencePiece-style BPE over scores (Llama 2, Phi-3, the
//     TinyStories models): spaces become "▁", a space is prefixed to the
//     text, adjacent symbols merge by highest score (leftmost first on
//     ties), and characters without a token fall back to <0xXX> byte tokens.
//   - "gpt2": byte-level BPE: text is split into words by the
//     pre-tokenizer named in tokenizer.ggml.pre (qwen2, qwen35, llama-bpe,
//     deepseek-v3, deepseek-llm, deepseek-coder, gpt-2, starcoder, falcon,
//     default and their aliases), each word's bytes are mapped to the GPT-2
//     byte alphabet, and merges apply by rank.
//
// Text need not be valid UTF-8. Byte-level BPE keeps invalid bytes as
// they are (llama.cpp replaces each with U+FFFD), so any byte string
// decodes back to itself; SentencePiece cuts characters by lead byte and
// falls back to byte tokens, as llama.cpp does.
//
// Special tokens are matched in the text only when the caller asks
// (parseSpecial): text a user typed must not become control tokens. As in
// llama.cpp, user-defined tokens (such as <think> in Qwen3) are always
// matched.
//
// Decoding renders each token as llama.cpp's token_to_piece does with
// special=true; StreamDecoder holds back pieces that end inside a UTF-8
// character so that streamed text is always valid where the full decode is.
//
// A Tokenizer is safe for concurrent use.
package tokenizer
