// Package server serves a loaded model over HTTP with OpenAI- and
// Ollama-compatible APIs.
//
// OpenAI: POST /v1/chat/completions, POST /v1/completions, GET /v1/models,
// with SSE streaming, usage (cached prompt tokens included), logprobs, tool
// calls and reasoning_content split off by the chat reasoning parser.
// Ollama: POST /api/chat and /api/generate (NDJSON streams), GET /api/tags,
// POST /api/show, GET /api/ps, GET /api/version. Operations: GET /health
// (503 while the model loads) and GET /metrics in Prometheus text format,
// with the gauges the Kubernetes Gateway API Inference Extension scrapes
// under vLLM's names.
//
// The chat page: GET / and its files under /ui/ (embedded, no build step,
// nothing loaded from elsewhere, a strict Content-Security-Policy), which
// talks to the OpenAI routes; GET /props tells it whether the model has a
// chat template (without one it completes plain text) and whether it
// reasons. Responses with usage also carry llama.cpp's timings object.
//
// Structured output: response_format (json_object, json_schema), the GBNF
// grammar and json_schema fields of llama-server, tool_choice "required"
// or a named function (the call, in the template's tool-call form, follows
// the tool's parameters schema), and Ollama's format ("json" or a schema)
// hold the answer (after any reasoning) to a grammar (package grammar),
// compiled once per server; a schema keyword that cannot be honoured is a
// 400 naming it.
//
// All generation goes through one engine.Scheduler (continuous batching).
// Errors are JSON in OpenAI's shape {"error":{"message","type","code"}} on
// the OpenAI routes and {"error": "..."} on the Ollama routes. With API
// keys configured, every route but /health and the chat page's files needs
// "Authorization: Bearer KEY" (the page asks for the key). Prompt text is never logged unless Options.LogPrompts is set.
package server
