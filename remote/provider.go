package remote

import (
	"fmt"
	"net/url"
	"strings"
)

// ThinkControl is how an endpoint lets a request switch the model's
// reasoning on or off.
type ThinkControl string

// The request fields that switch thinking, by the providers that read them.
const (
	// ThinkTemplateKwargs sends chat_template_kwargs {"enable_thinking": v},
	// which vLLM, SGLang, llama-server and qilin pass to the chat template.
	ThinkTemplateKwargs ThinkControl = "chat_template_kwargs"
	// ThinkEnable sends "enable_thinking": v (DashScope).
	ThinkEnable ThinkControl = "enable_thinking"
	// ThinkType sends "thinking": {"type": "enabled"|"disabled"} (DeepSeek,
	// Moonshot).
	ThinkType ThinkControl = "thinking"
	// ThinkReasoning sends "reasoning": {"enabled": v} (OpenRouter).
	ThinkReasoning ThinkControl = "reasoning"
	// ThinkNone: the endpoint has no switch; the model decides.
	ThinkNone ThinkControl = ""
)

// Provider is a hosted OpenAI-compatible API that a model argument can name
// as PROVIDER:MODEL.
type Provider struct {
	Name    string // what users type before the colon: "deepseek"
	Title   string // how messages name it: "DeepSeek"
	BaseURL string // chat completions are at BaseURL + "/chat/completions"
	KeyEnv  string // the environment variable that holds the API key
	Think   ThinkControl
	// MaxCompletionTokens: the API wants max_completion_tokens rather than
	// max_tokens (OpenAI's reasoning models refuse max_tokens).
	MaxCompletionTokens bool
	// Example is a model name, for help and error messages.
	Example string
}

// Providers is the table of presets. The Qwen preset is DashScope's
// international OpenAI-compatible mode; the mainland one is reached as
// https://dashscope.aliyuncs.com/compatible-mode/v1#MODEL with
// --api-key-env DASHSCOPE_API_KEY.
var Providers = []Provider{
	{Name: "deepseek", Title: "DeepSeek", BaseURL: "https://api.deepseek.com", KeyEnv: "DEEPSEEK_API_KEY", Think: ThinkType, Example: "deepseek-reasoner"},
	{Name: "qwen", Title: "Qwen (DashScope)", BaseURL: "https://dashscope-intl.aliyuncs.com/compatible-mode/v1", KeyEnv: "DASHSCOPE_API_KEY", Think: ThinkEnable, Example: "qwen-max"},
	{Name: "moonshot", Title: "Moonshot (Kimi)", BaseURL: "https://api.moonshot.ai/v1", KeyEnv: "MOONSHOT_API_KEY", Think: ThinkType, Example: "kimi-k2.5"},
	{Name: "openai", Title: "OpenAI", BaseURL: "https://api.openai.com/v1", KeyEnv: "OPENAI_API_KEY", Think: ThinkNone, MaxCompletionTokens: true, Example: "o1"},
	{Name: "openrouter", Title: "OpenRouter", BaseURL: "https://openrouter.ai/api/v1", KeyEnv: "OPENROUTER_API_KEY", Think: ThinkReasoning, Example: "deepseek/deepseek-r1"},
}

// LookupProvider returns the preset named name (case-insensitive).
func LookupProvider(name string) (Provider, bool) {
	for _, p := range Providers {
		if strings.EqualFold(p.Name, name) {
			return p, true
		}
	}
	return Provider{}, false
}

// Endpoint is a model behind an OpenAI-compatible API. It holds the name of
// the variable with the API key, never the key.
type Endpoint struct {
	// Provider is the preset's name, or "" for an endpoint given by URL.
	Provider string
	// Title names the endpoint in messages: the preset's title or the
	// URL's host.
	Title string
	// BaseURL is the API root: chat completions are at BaseURL +
	// "/chat/completions".
	BaseURL string
	// Model is the model name sent in requests.
	Model string
	// KeyEnv is the environment variable holding the API key; "" means no
	// key is sent (a local server).
	KeyEnv string
	// Think says how a request switches reasoning on or off.
	Think ThinkControl
	// MaxCompletionTokens: send the token limit as max_completion_tokens.
	MaxCompletionTokens bool
}

// String returns the reference that names e: "PROVIDER:MODEL" or
// "URL#MODEL".
func (e Endpoint) String() string {
	if e.Provider != "" {
		return e.Provider + ":" + e.Model
	}
	return e.BaseURL + "#" + e.Model
}

// Budgets reports whether requests to e can bound the reasoning
// (ChatRequest.ThinkBudget): servers given by URL as qilin serve does
// (thinking_budget_tokens), DashScope (thinking_budget) and OpenRouter
// (reasoning.max_tokens). DeepSeek, Moonshot and OpenAI take no bound.
func (e Endpoint) Budgets() bool {
	return e.Think == ThinkTemplateKwargs || e.Think == ThinkEnable || e.Think == ThinkReasoning
}

// IsEndpoint reports whether s is written as an endpoint reference
// (URL#MODEL, or PROVIDER:MODEL with a preset provider), valid or not.
// Local file names and store names (deepseek-r1:1.5b, hf.co/...) are not.
func IsEndpoint(s string) bool {
	if isURL(s) {
		return true
	}
	name, _, ok := strings.Cut(s, ":")
	if !ok {
		return false
	}
	_, preset := LookupProvider(name)
	return preset
}

func isURL(s string) bool {
	l := strings.ToLower(s)
	return strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://")
}

// ParseEndpoint parses an endpoint reference: "PROVIDER:MODEL" with a
// provider from Providers, or "URL#MODEL" for any OpenAI-compatible server
// (vLLM, llama-server, Ollama's /v1, qilin serve). The URL is the API root;
// a bare host gets "/v1", and a pasted ".../chat/completions" is trimmed.
// A URL may not carry credentials or a query: keys come from the
// environment, so that they never end up in datasets or logs.
func ParseEndpoint(s string) (Endpoint, error) {
	if isURL(s) {
		return parseURLEndpoint(s)
	}
	name, model, _ := strings.Cut(s, ":")
	p, ok := LookupProvider(name)
	if !ok {
		return Endpoint{}, fmt.Errorf("remote: %q: not PROVIDER:MODEL with a provider of %s, nor URL#MODEL", s, providerNames())
	}
	if model == "" {
		return Endpoint{}, fmt.Errorf("remote: %q: no model after %q (e.g. %s:%s)", s, name+":", p.Name, p.Example)
	}
	return Endpoint{Provider: p.Name, Title: p.Title, BaseURL: p.BaseURL, Model: model, KeyEnv: p.KeyEnv,
		Think: p.Think, MaxCompletionTokens: p.MaxCompletionTokens}, nil
}

func parseURLEndpoint(s string) (Endpoint, error) {
	raw, model, ok := strings.Cut(s, "#")
	if !ok || model == "" {
		return Endpoint{}, fmt.Errorf("remote: %q: name the model after the URL, as URL#MODEL (e.g. http://127.0.0.1:8000/v1#Qwen/Qwen3-8B)", redactURL(s))
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return Endpoint{}, fmt.Errorf("remote: %q: not a URL", redactURL(raw))
	}
	if u.User != nil {
		return Endpoint{}, fmt.Errorf("remote: %q: credentials in the URL are refused (they would end up in logs and datasets); put the key in an environment variable and pass --api-key-env VAR", redactURL(raw))
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return Endpoint{}, fmt.Errorf("remote: %q: the URL may not carry a query", redactURL(raw))
	}
	p := strings.TrimRight(u.Path, "/")
	p = strings.TrimSuffix(p, "/chat/completions")
	if p == "" {
		p = "/v1"
	}
	u.Path = p
	return Endpoint{Title: u.Host, BaseURL: u.String(), Model: model, Think: ThinkTemplateKwargs}, nil
}

// redactURL drops anything between "//" and "@" so that a key typed into a
// URL is not echoed in an error.
func redactURL(s string) string {
	i := strings.Index(s, "//")
	if i < 0 {
		return s
	}
	at := strings.LastIndex(s, "@")
	if at < i {
		return s
	}
	return s[:i+2] + "[redacted]" + s[at:]
}

func providerNames() string {
	names := make([]string, len(Providers))
	for i, p := range Providers {
		names[i] = p.Name
	}
	return strings.Join(names, ", ")
}
