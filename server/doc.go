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
// All generation goes through one engine.Scheduler (continuous batching).
// Errors are JSON in OpenAI's shape {"error":{"message","type","code"}} on
// the OpenAI routes and {"error": "..."} on the Ollama routes. With API
// keys configured, every route but /health and the chat page's files needs
// "Authorization: Bearer KEY" (the page asks for the key). Prompt text is never logged unless Options.LogPrompts is set.
package server
