package server

import (
	"fmt"
	"net/http"
)

// route is one endpoint of the server.
type route struct {
	pattern string // a net/http.ServeMux pattern, method included
	handler http.Handler
	public  bool // served without an API key
}

// routes lists every endpoint (the chat page's in webRoutes). To add one,
// add a line (or call Handle).
func (s *Server) routes() []route {
	return append(s.webRoutes(), []route{
		// Operations: health checkers and monitoring.
		{"GET /health", http.HandlerFunc(s.health), true},
		{"HEAD /{$}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}), true},
		{"GET /metrics", http.HandlerFunc(s.serveMetrics), false},
		// OpenAI.
		{"GET /v1/models", s.withModel(s.listModels), false},
		{"GET /v1/models/{id...}", s.withModel(s.getModel), false},
		{"POST /v1/chat/completions", s.withModel(s.chatCompletions), false},
		{"POST /v1/completions", s.withModel(s.completions), false},
		// Ollama.
		{"POST /api/chat", s.withModel(s.ollamaChat), false},
		{"POST /api/generate", s.withModel(s.ollamaGenerate), false},
		{"GET /api/tags", s.withModel(s.ollamaTags), false},
		{"POST /api/show", s.withModel(s.ollamaShow), false},
		{"GET /api/ps", s.withModel(s.ollamaPS), false},
		{"GET /api/version", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusOK, map[string]string{"version": Version})
		}), false},
		// Anything else.
		{"/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s.writeError(w, r, &apiError{Status: http.StatusNotFound, Type: "invalid_request_error", Code: "not_found",
				Message: fmt.Sprintf("no route %s %s", r.Method, r.URL.Path)})
		}), false},
	}...)
}

// Handle adds an endpoint: pattern is a net/http.ServeMux pattern ("GET
// /{$}" for a page at the root). A public endpoint is served without an
// API key (a page a browser loads, a health check); the others need one
// when the server has keys. Call it before serving.
func (s *Server) Handle(pattern string, h http.Handler, public bool) {
	if !public {
		h = s.guard(h)
	}
	s.mux.Handle(pattern, h)
}
