package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/qilin-ai/qilin/engine"
	"github.com/qilin-ai/qilin/internal/testdata"
	"github.com/qilin-ai/qilin/server"
)

// TestSeedSameEverywhere: a seed gives the same text from qilin run as
// through the API, for a plain completion and for a chat turn (with the
// same thinking default), while another seed gives another text.
func TestSeedSameEverywhere(t *testing.T) {
	for _, tc := range []struct {
		model, prompt string
		chat          bool
	}{
		{"stories260K.gguf", "Once upon a time", false},
		{"TinyStories-656K-Q8_0.gguf", "Tell me a story.", true},
	} {
		t.Run(tc.model, func(t *testing.T) {
			path := testdata.Path(t, "models", tc.model)
			run := func(seed string) string {
				args := []string{"run", path, tc.prompt, "--seed", seed, "--temp", "1.5", "--top-k", "0", "--min-p", "0", "--max-tokens", "24", "--json"}
				if tc.chat {
					args = append(args, "--chat")
				}
				out, errs, code := runCLI(t, args...)
				if code != 0 {
					t.Fatalf("run: exit %d: %s", code, errs)
				}
				var res struct {
					Text               string
					Reasoning, Content *string
				}
				if err := json.Unmarshal([]byte(out), &res); err != nil {
					t.Fatal(err)
				}
				if tc.chat {
					return *res.Reasoning + "|" + *res.Content
				}
				return res.Text
			}
			e, err := engine.Load(path, engine.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			srv := server.New(server.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), ModelName: "m"})
			if err := srv.Load(e, path); err != nil {
				t.Fatal(err)
			}
			defer srv.Shutdown(context.Background())
			hs := httptest.NewServer(srv)
			defer hs.Close()
			api := func(seed int) string {
				body := map[string]any{"model": "m", "seed": seed, "temperature": 1.5, "top_k": 0, "min_p": 0, "max_tokens": 24}
				route := "/v1/completions"
				if tc.chat {
					route = "/v1/chat/completions"
					body["messages"] = []map[string]string{{"role": "user", "content": tc.prompt}}
				} else {
					body["prompt"] = tc.prompt
				}
				b, _ := json.Marshal(body)
				resp, err := http.Post(hs.URL+route, "application/json", strings.NewReader(string(b)))
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				var out struct {
					Choices []struct {
						Text    string
						Message struct {
							Content          *string
							ReasoningContent string `json:"reasoning_content"`
						}
					}
				}
				if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || len(out.Choices) != 1 {
					t.Fatalf("%s: status %d, %v", route, resp.StatusCode, err)
				}
				if tc.chat {
					c := ""
					if out.Choices[0].Message.Content != nil {
						c = *out.Choices[0].Message.Content
					}
					return out.Choices[0].Message.ReasoningContent + "|" + c
				}
				return out.Choices[0].Text
			}
			cli, served := run("42"), api(42)
			if cli != served || cli == "" {
				t.Errorf("seed 42: run wrote %q, the API %q", cli, served)
			}
			if other := api(43); other == served {
				t.Errorf("seeds 42 and 43 gave the same text %q", other)
			}
		})
	}
}
