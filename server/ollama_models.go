package server

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"time"

	"github.com/qilin-ai/qilin/chat"
)

// ollamaDetails is the "details" object of Ollama model listings.
type ollamaDetails struct {
	ParentModel       string   `json:"parent_model"`
	Format            string   `json:"format"`
	Family            string   `json:"family"`
	Families          []string `json:"families"`
	ParameterSize     string   `json:"parameter_size"`
	QuantizationLevel string   `json:"quantization_level"`
}

func (m *model) details() ollamaDetails {
	arch := m.e.File.Arch()
	return ollamaDetails{Format: "gguf", Family: arch, Families: []string{arch},
		ParameterSize: paramSize(m.params()), QuantizationLevel: m.e.File.FileTypeName()}
}

func (m *model) params() int64 {
	var n int64
	for _, t := range m.e.File.Tensors {
		n += t.NumElements()
	}
	return n
}

// paramSize writes a parameter count as Ollama does ("494.03M", "7.6B").
func paramSize(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.1fB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.2fM", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.2fK", float64(n)/1e3)
	}
	return fmt.Sprint(n)
}

// digest identifies the served model. It hashes the path, size and
// modification time rather than reading the whole file.
func (m *model) digest() string {
	size, mod := m.fileInfo()
	h := sha256.Sum256(fmt.Appendf(nil, "%s\x00%d\x00%d", m.path, size, mod.UnixNano()))
	return hex.EncodeToString(h[:])
}

func (s *Server) ollamaTags(w http.ResponseWriter, r *http.Request, m *model) {
	size, mod := m.fileInfo()
	writeJSON(w, http.StatusOK, map[string]any{"models": []map[string]any{{
		"name": m.name + ":latest", "model": m.name + ":latest", "modified_at": mod.UTC().Format(time.RFC3339Nano),
		"size": size, "digest": m.digest(), "details": m.details(),
	}}})
}

func (s *Server) ollamaPS(w http.ResponseWriter, r *http.Request, m *model) {
	size, _ := m.fileInfo()
	writeJSON(w, http.StatusOK, map[string]any{"models": []map[string]any{{
		"name": m.name + ":latest", "model": m.name + ":latest", "size": size, "digest": m.digest(), "details": m.details(),
		"expires_at": m.loaded.Add(100 * 365 * 24 * time.Hour).UTC().Format(time.RFC3339Nano), "size_vram": 0,
		"context_length": m.sched.Options().SlotContext,
	}}})
}

// ollamaShowRequest is the body of POST /api/show.
type ollamaShowRequest struct {
	Model string `json:"model"`
	Name  string `json:"name"` // the older spelling of model
}

func (s *Server) ollamaShow(w http.ResponseWriter, r *http.Request, m *model) {
	var req ollamaShowRequest
	if aerr := decodeBody(r, &req); aerr != nil {
		writeOllamaError(w, aerr)
		return
	}
	name := req.Model
	if name == "" {
		name = req.Name
	}
	if name == "" {
		writeOllamaError(w, badRequest("model", "required"))
		return
	}
	if aerr := m.checkModel(name); aerr != nil {
		writeOllamaError(w, aerr)
		return
	}
	info := map[string]any{"general.parameter_count": m.params()}
	for _, kv := range m.e.File.KV {
		switch kv.Value.(type) {
		case string, bool, uint8, int8, uint16, int16, uint32, int32, uint64, int64, float32, float64:
			if kv.Key != "tokenizer.chat_template" {
				info[kv.Key] = kv.Value
			}
		}
	}
	caps := []string{"completion"}
	if m.tools != chat.ToolFormatNone {
		caps = append(caps, "tools")
	}
	src := m.e.Template().Source()
	if m.e.CanThink() {
		caps = append(caps, "thinking")
	}
	_, mod := m.fileInfo()
	writeJSON(w, http.StatusOK, map[string]any{
		"modelfile":    fmt.Sprintf("# served by qilin\nFROM %s\n", m.path),
		"parameters":   "",
		"template":     src,
		"details":      m.details(),
		"model_info":   info,
		"capabilities": caps,
		"modified_at":  mod.UTC().Format(time.RFC3339Nano),
	})
}
