// Package remote talks to models behind OpenAI-compatible chat completion
// APIs: any server given as URL#MODEL (vLLM, SGLang, llama-server, Ollama's
// /v1, qilin serve) or a hosted provider given as PROVIDER:MODEL from the
// Providers table (deepseek, qwen, moonshot, openai, openrouter).
//
// ParseEndpoint reads a model argument into an Endpoint, which names the
// environment variable holding the API key but never holds the key;
// FromEnv reads the key and returns a Client, which keeps it unexported and
// never prints it (errors quoting a server's message have it removed).
//
// Client.Chat sends one ChatRequest, streaming (server-sent events, each
// piece passed to OnDelta) or not, and returns the whole ChatResponse:
// content, reasoning (from a reasoning_content or reasoning field, or an
// inline <think>…</think> block, see SplitThink), finish reason, usage and,
// when asked for and offered, token log-probabilities with their top
// alternatives. It retries what may succeed later: 429 and 503 after the
// Retry-After (or retry-after-ms) the server names, other 5xx, refused and
// broken connections, streams cut before their end or stalled
// (IdleTimeout), and attempts that outlive Timeout, with exponential
// backoff and jitter; 401, 403 and 404 fail at once with an *Error that
// names the endpoint and says what to check. ErrorKind classifies errors
// for counting.
//
// Limiter paces requests within per-minute request and token limits,
// evenly (60 per minute is one a second) and exactly (no 60-second window
// over the limit).
//
// QILIN_OFFLINE=1 refuses endpoints other than this machine's.
//
// Package remotetest is a fake endpoint for tests.
package remote
