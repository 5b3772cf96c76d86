package server

import (
	"embed"
	"io/fs"
	"net/http"
)

// webui holds the chat page: plain HTML, CSS and JavaScript, no build step,
// nothing loaded from elsewhere (index.html, style.css, app.js for the
// page, markdown.js for the safe Markdown renderer).
//
//go:embed webui
var webui embed.FS

// webCSP keeps the page to its own files and its own server: no scripts,
// styles, fonts or connections from anywhere else, no inline code.
const webCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// webRoutes lists the chat page at / (its files under /ui/), public
// because they hold no data (the page asks for the API key and sends it
// with its API calls), and /props, which tells the page about the model.
func (s *Server) webRoutes() []route {
	files, err := fs.Sub(webui, "webui")
	if err != nil {
		panic(err) // the embedded folder is named above
	}
	static := http.StripPrefix("/ui/", http.FileServerFS(files))
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", webCSP)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-cache")
		if r.URL.Path == "/" {
			http.ServeFileFS(w, r, files, "index.html")
			return
		}
		static.ServeHTTP(w, r)
	})
	return []route{
		{"GET /{$}", page, true},
		{"GET /ui/", page, true},
		{"GET /props", s.withModel(s.props), false},
	}
}

// propsResponse is GET /props: what a client needs to know about the
// served model beyond /v1/models, in the spirit of llama.cpp's /props.
type propsResponse struct {
	Model string `json:"model"`
	// HasChatTemplate is false for a model without a chat template (a base
	// or story model), which the server would wrap in a ChatML guess:
	// clients should complete plain text (/v1/completions) instead.
	HasChatTemplate bool `json:"has_chat_template"`
	// Thinking: the template opens a reasoning block (<think>).
	Thinking bool `json:"thinking"`
	// ThinkingSwitch: the template reads enable_thinking
	// (chat_template_kwargs turns thinking on or off).
	ThinkingSwitch bool `json:"thinking_switch"`
	// ChatTemplate is the template's Jinja source; "" when there is none.
	ChatTemplate string `json:"chat_template"`
	// Context is each request's context in tokens; MaxTokens the largest
	// max_tokens accepted.
	Context    int    `json:"n_ctx"`
	MaxTokens  int    `json:"max_tokens"`
	TotalSlots int    `json:"total_slots"`
	BuildInfo  string `json:"build_info"`
}

func (s *Server) props(w http.ResponseWriter, r *http.Request, m *model) {
	p := propsResponse{
		Model: m.name, HasChatTemplate: m.e.HasTemplate(), Context: m.sched.Options().SlotContext,
		MaxTokens: m.maxToks, TotalSlots: m.sched.Options().Slots, BuildInfo: "qilin " + Version,
	}
	if p.HasChatTemplate {
		p.ChatTemplate = m.e.Template().Source()
		p.Thinking = m.e.CanThink()
		p.ThinkingSwitch = m.e.ThinkingSwitch()
	}
	writeJSON(w, http.StatusOK, p)
}
