// Package chat turns conversations into prompts and model output back into
// messages.
//
// Templates: a model's Jinja chat template (GGUF key tokenizer.chat_template)
// is rendered the way Hugging Face transformers' apply_chat_template does:
// trim_blocks and lstrip_blocks on, the final newline of the template
// dropped, tojson as Python's json.dumps with ensure_ascii=False and key
// order kept, raise_exception, strftime_now (with a clock hook), bos_token,
// eos_token, tools, add_generation_prompt and any extra variables. Messages
// and tools may be given as raw JSON, whose object key order is kept all the
// way into the prompt. Models without a template get Fallback (ChatML).
//
// Output parsing: ReasoningParser splits <think>…</think> into reasoning and
// content, and ToolCallParser turns Qwen (<tool_call> holding JSON, or, for
// Qwen3.5 and Qwen3-Coder, the XML form <function=...><parameter=...> whose
// values are typed by the request's tool schemas) and DeepSeek
// (<｜tool▁calls▁begin｜>) tool-call blocks into OpenAI-shaped tool calls.
// Both are incremental: feed them pieces of text as tokens are decoded, in any
// split, and they emit deltas whose concatenation equals parsing the whole
// text at once.
package chat
