package server

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/qilin-ai/qilin/engine"
	"github.com/qilin-ai/qilin/internal/builtinmodel"
)

// builtinEngine loads the built-in model (no chat template) for one test.
func builtinEngine(t *testing.T, context int) *engine.Engine {
	t.Helper()
	f, err := builtinmodel.Open()
	if err != nil {
		t.Fatal(err)
	}
	e, err := engine.New(f, engine.Options{Context: context})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// builtinServer serves the built-in model with keys.
func builtinServer(t *testing.T, keys ...string) string {
	t.Helper()
	e := builtinEngine(t, 256)
	opts := Options{APIKeys: keys, ModelName: builtinmodel.Name, Sched: engine.SchedOptions{Slots: 1}}
	return serveEngine(t, e, builtinmodel.FileName, opts, nil).URL
}

func get(t *testing.T, url, key string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestChatPage: the page and its files are served without a key, with a
// policy that forbids anything from elsewhere; the API still needs it.
func TestChatPage(t *testing.T) {
	base := builtinServer(t, "k")
	for _, c := range []struct {
		path, ctype, holds string
	}{
		{"/", "text/html", `<label for="message" class="visually-hidden">Message</label>`},
		{"/ui/app.js", "text/javascript", "/v1/chat/completions"},
		{"/ui/markdown.js", "text/javascript", "qilinMarkdown"},
		{"/ui/api.js", "text/javascript", "Authorization"},
		{"/ui/view.js", "text/javascript", "reasoning"},
		{"/ui/style.css", "text/css", "font-family: system-ui"},
		{"/ui/icon.svg", "image/svg+xml", "<svg"},
	} {
		resp, body := get(t, base+c.path, "")
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), c.ctype) || !strings.Contains(body, c.holds) {
			t.Errorf("GET %s: %s %q, %d bytes; want 200 %s holding %q", c.path, resp.Status, resp.Header.Get("Content-Type"), len(body), c.ctype, c.holds)
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "connect-src 'self'") {
			t.Errorf("GET %s: Content-Security-Policy %q", c.path, csp)
		}
		for _, remote := range []string{"http://", "https://", "//cdn", "fonts.googleapis"} {
			// markdown.js recognizes URLs; the icon names its XML namespace.
			if c.path != "/ui/markdown.js" && c.path != "/ui/icon.svg" && strings.Contains(body, remote) {
				t.Errorf("GET %s refers to %q: the page must work offline", c.path, remote)
			}
		}
	}
	if resp, _ := get(t, base+"/ui/missing.js", ""); resp.StatusCode != 404 {
		t.Errorf("GET /ui/missing.js: %s, want 404", resp.Status)
	}
	req, _ := http.NewRequest(http.MethodHead, base+"/", nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Errorf("HEAD /: %v %v, want 200", resp, err)
	}
	for _, path := range []string{"/props", "/v1/models"} {
		if resp, _ := get(t, base+path, ""); resp.StatusCode != 401 {
			t.Errorf("GET %s without the key: %s, want 401", path, resp.Status)
		}
	}
}

// TestProps: /props says whether the model has a chat template, so that
// the page completes plain text for a model without one.
func TestProps(t *testing.T) {
	base := builtinServer(t, "k")
	resp, body := get(t, base+"/props", "k")
	var got propsResponse
	if err := json.Unmarshal([]byte(body), &got); resp.StatusCode != 200 || err != nil {
		t.Fatalf("GET /props: %s %v %s", resp.Status, err, body)
	}
	want := propsResponse{Model: builtinmodel.Name, Context: 256, MaxTokens: 256, TotalSlots: 1, BuildInfo: "qilin " + Version}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("/props of the built-in model (-want +got):\n%s", diff)
	}

	ts := startServer(t, modelR1, Options{})
	resp, body = get(t, ts.URL+"/props", "")
	got = propsResponse{}
	if err := json.Unmarshal([]byte(body), &got); resp.StatusCode != 200 || err != nil {
		t.Fatalf("GET /props: %s %v %s", resp.Status, err, body)
	}
	if !got.HasChatTemplate || !got.Thinking || got.ChatTemplate != ts.e.Template().Source() || got.ChatTemplate == "" {
		t.Errorf("/props of the R1-template model: %+v", got)
	}
}
