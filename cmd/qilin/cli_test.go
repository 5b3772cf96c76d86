package main

import (
	"bytes"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qilin-ai/qilin/internal/builtinmodel"
	"github.com/qilin-ai/qilin/internal/hub/hubtest"
	"github.com/qilin-ai/qilin/server"
)

// TestNumberFlagRanges: numbers out of range are usage errors that say
// which flag and what range, before anything loads.
func TestNumberFlagRanges(t *testing.T) {
	freshInstall(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "-p", "x", "--max-tokens", "-5"}, "--max-tokens: -5 is not a positive number of tokens"},
		{[]string{"run", "-p", "x", "-n", "-1"}, "--max-tokens: -1 is not a positive number of tokens"},
		{[]string{"run", "-p", "x", "-c", "256", "-n", "300"}, "--max-tokens: 300 is above the context of 256 tokens"},
		{[]string{"run", "-p", "x", "--temp", "-0.5"}, "--temp: -0.5 is outside [0, 2]"},
		{[]string{"run", "-p", "x", "--temp", "NaN"}, "--temp: NaN is not a number"},
		{[]string{"run", "-p", "x", "--top-p", "5"}, "--top-p: 5 is outside [0, 1]"},
		{[]string{"run", "-p", "x", "--top-k", "-1"}, "--top-k: -1 is negative"},
		{[]string{"run", "-p", "x", "--threads", "-3"}, "--threads: -3 is negative"},
		{[]string{"run", "-p", "x", "-c", "-2"}, "--ctx: -2 is negative"},
		{[]string{"run", "-p", "x", "--ctx", "100000000000"}, "KV cache, more than this machine's"},
		{[]string{"chat", "--temp", "3"}, "--temp: 3 is outside [0, 2]"},
		{[]string{"chat", "--max-tokens", "-2"}, "--max-tokens: -2 is not a positive number"},
		{[]string{"serve", "-t", "-1"}, "--threads: -1 is negative"},
		{[]string{"bench", builtinmodel.Name, "-t", "-3"}, "--threads: -3 is negative"},
		{[]string{"logits", "-t", "-3", "--tokens", "1", "--out", "x"}, "--threads: -3 is negative"},
		{[]string{"quantize", "--threads", "-3", "a.gguf", "b.gguf", "Q8_0"}, "--threads: -3 is negative"},
		{[]string{"synth", "--threads", "-3", "qwen2.5-0.5b", "x.gguf"}, "--threads: -3 is negative"},
	} {
		_, errs, code := runCLI(t, c.args...)
		if code != 2 || !strings.Contains(errs, c.want) {
			t.Errorf("%q: exit %d, stderr %q; want exit 2 and %q", c.args, code, errs, c.want)
		}
	}
	// --ctx above the training context is allowed, with a warning.
	if _, errs, code := runCLI(t, "run", "-p", "Once", "-n", "2", "-c", "4096"); code != 0 || !strings.Contains(errs, "above the model's training context") {
		t.Errorf("--ctx 4096: exit %d, stderr %q; want a warning", code, errs)
	}
}

// TestShortFlags: -m -p -n -c -t are --model --prompt --max-tokens --ctx
// --threads, and every command that takes a model takes it positionally.
func TestShortFlags(t *testing.T) {
	freshInstall(t)
	long, errs, code := runCLI(t, "run", "--model", builtinmodel.Name, "--prompt", "Once upon a time", "--max-tokens", "12",
		"--ctx", "128", "--threads", "1", "--temp", "0", "--json")
	if code != 0 {
		t.Fatalf("long flags: exit %d: %s", code, errs)
	}
	short, errs, code := runCLI(t, "run", "-m", builtinmodel.Name, "-p", "Once upon a time", "-n", "12", "-c", "128", "-t", "1", "--temp", "0", "--json")
	if code != 0 || short != long {
		t.Errorf("short flags: exit %d, %q (stderr %q); want %q", code, short, errs, long)
	}
	var r runResult
	if err := json.Unmarshal([]byte(short), &r); err != nil || len(r.Tokens) != 12 {
		t.Errorf("-n 12 made %d tokens (%v)", len(r.Tokens), err)
	}

	msgs := filepath.Join(t.TempDir(), "m.json")
	if err := os.WriteFile(msgs, []byte(`[{"role":"user","content":"Hi"}]`), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errs, code := runCLI(t, "render", builtinmodel.Name, "--messages", msgs)
	if code != 0 || !strings.Contains(out, "Hi") {
		t.Errorf("render MODEL: exit %d, %q (stderr %q)", code, out, errs)
	}
	out, errs, code = runCLI(t, "bench", builtinmodel.Name, "-p", "4", "-n", "2", "-r", "1", "-t", "1", "--bandwidth-mib", "1", "--json")
	var rep benchReport
	if err := json.Unmarshal([]byte(out), &rep); code != 0 || err != nil || rep.File != builtinmodel.Name || rep.Threads != 1 || len(rep.Results) != 2 {
		t.Errorf("bench MODEL: exit %d, %v, %+v (stderr %q)", code, err, rep, errs)
	}
	f32 := filepath.Join(t.TempDir(), "l.f32")
	if _, errs, code := runCLI(t, "logits", builtinmodel.Name, "--tokens", "1,2", "--out", f32); code != 0 {
		t.Errorf("logits MODEL: exit %d: %s", code, errs)
	}
}

func TestVersion(t *testing.T) {
	a, _, code1 := runCLI(t, "version")
	b, _, code2 := runCLI(t, "--version")
	if code1 != 0 || code2 != 0 || a != b || !strings.HasPrefix(a, "qilin "+server.Version+" (") {
		t.Errorf("version: exit %d %q; --version: exit %d %q", code1, a, code2, b)
	}
}

func TestPSWithoutServer(t *testing.T) {
	_, errs, code := runCLI(t, "ps", "--host", "http://127.0.0.1:1")
	if code != 1 || !strings.Contains(errs, "no server answers at http://127.0.0.1:1") {
		t.Errorf("ps with no server: exit %d, stderr %q", code, errs)
	}
}

func TestImport(t *testing.T) {
	freshInstall(t)
	dir := t.TempDir()
	model := hubtest.GGUF(t, "qwen2", 4000, 1)
	path := filepath.Join(dir, "Tiny-Q8_0.gguf")
	if err := os.WriteFile(path, model, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		name string
	}{
		{[]string{"import", path}, "Tiny-Q8_0"},
		{[]string{"import", "--quiet", path, "my/tiny"}, "my/tiny"},
		{[]string{"import", path, "QWEN2.5:0.5B"}, "qwen2.5:0.5b"},
	} {
		out, errs, code := runCLI(t, c.args...)
		if code != 0 || !strings.Contains(out, "as "+c.name+" (") {
			t.Errorf("%q: exit %d, %q (stderr %q)", c.args, code, out, errs)
			continue
		}
		mf, err := resolveModel(c.name)
		if err != nil {
			t.Errorf("resolveModel(%q) after import: %v", c.name, err)
			continue
		}
		if b, _ := os.ReadFile(mf.Path); !bytes.Equal(b, model) {
			t.Errorf("%s resolves to %s, which does not hold the imported file", c.name, mf.Path)
		}
	}
	out, _, _ := runCLI(t, "list")
	for _, name := range []string{"Tiny-Q8_0", "my/tiny", "qwen2.5:0.5b"} {
		if !strings.Contains(out, name+" ") {
			t.Errorf("list lacks %s:\n%s", name, out)
		}
	}
	bad := filepath.Join(dir, "bad.gguf")
	os.WriteFile(bad, []byte("not a model"), 0o644)
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"import"}, 2, "want FILE.gguf"},
		{[]string{"import", path, builtinmodel.Name}, 2, "built-in model's name"},
		{[]string{"import", bad}, 1, "bad.gguf"},
		{[]string{"import", filepath.Join(dir, "none.gguf")}, 1, "no such file"},
	} {
		_, errs, code := runCLI(t, c.args...)
		if code != c.code || !strings.Contains(errs, c.want) {
			t.Errorf("%q: exit %d, stderr %q; want exit %d and %q", c.args, code, errs, c.code, c.want)
		}
	}
}

// TestPullUnreachable: without a network pull fails at once and says what
// to set.
func TestPullUnreachable(t *testing.T) {
	freshInstall(t)
	t.Setenv("QILIN_OFFLINE", "")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("HF_ENDPOINT", "http://"+ln.Addr().String())
	ln.Close()
	_, errs, code := runCLI(t, "pull", "qwen2.5:0.5b")
	if code != 1 || !strings.Contains(errs, "cannot reach the Hub") || !strings.Contains(errs, "HF_ENDPOINT") ||
		!strings.Contains(errs, "QILIN_OFFLINE=1") || strings.Contains(errs, "retry") {
		t.Errorf("pull with nothing listening: exit %d, stderr %q", code, errs)
	}
}
