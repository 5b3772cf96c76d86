package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qilin-ai/qilin/internal/hub/hubtest"
	"github.com/qilin-ai/qilin/store"
)

// storeEnv points the store at a fresh directory and the Hub at an
// emulation holding one repository with two quantizations, and returns the
// emulation and the Q4_K_M file's bytes.
func storeEnv(t *testing.T) (*hubtest.Server, []byte) {
	t.Helper()
	h := hubtest.New(t)
	q4 := hubtest.GGUF(t, "qwen2", 40000, 1)
	h.Add("org/Tiny-GGUF", "Tiny-Q4_K_M.gguf", q4)
	h.Add("org/Tiny-GGUF", "Tiny-Q8_0.gguf", hubtest.GGUF(t, "qwen2", 60000, 2))
	h.Add("Qwen/Qwen2.5-0.5B-Instruct-GGUF", "qwen2.5-0.5b-instruct-q4_k_m.gguf", q4) // same bytes as above
	t.Setenv("HF_ENDPOINT", h.URL)
	t.Setenv("HF_TOKEN", "")
	t.Setenv("QILIN_OFFLINE", "")
	t.Setenv("QILIN_MODELS", filepath.Join(t.TempDir(), "models"))
	return h, q4
}

// qilin runs the command line and returns its exit status, stdout, stderr.
func qilin(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := runMain(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestPullListRm(t *testing.T) {
	h, q4 := storeEnv(t)

	code, out, errs := qilin(t, "pull", "hf.co/org/Tiny-GGUF")
	if code != 0 {
		t.Fatalf("pull: exit %d, stderr %s", code, errs)
	}
	if want := "pulled hf.co/org/Tiny-GGUF:Q4_K_M (156.4 KiB, Q4_K_M, qwen2)\n"; out != want {
		t.Errorf("pull stdout %q, want %q", out, want)
	}
	if !strings.Contains(errs, "Tiny-Q4_K_M.gguf: 100%") {
		t.Errorf("pull stderr lacks the final progress line: %q", errs)
	}
	// A short name for the same bytes costs no download and no space.
	served := h.Served.Load()
	if code, out, errs := qilin(t, "pull", "--quiet", "qwen2.5:0.5b"); code != 0 || !strings.Contains(out, "pulled qwen2.5:0.5b") {
		t.Fatalf("pull qwen2.5:0.5b: exit %d, %q, %q", code, out, errs)
	}
	if h.Served.Load() != served {
		t.Errorf("the short name's pull downloaded the same bytes again")
	}

	code, out, _ = qilin(t, "list")
	if code != 0 {
		t.Fatalf("list: exit %d", code)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "NAME") || !strings.HasPrefix(lines[3], "stories260k ") {
		t.Fatalf("list output:\n%s", out)
	}
	for _, want := range []string{"hf.co/org/Tiny-GGUF:Q4_K_M", "156.4 KiB", "Q4_K_M", "qwen2", "never"} {
		if !strings.Contains(lines[1], want) {
			t.Errorf("list line %q lacks %q", lines[1], want)
		}
	}

	// resolveModel finds store names in any accepted spelling and records the use.
	for _, ref := range []string{"hf.co/org/Tiny-GGUF", "huggingface.co/org/tiny-gguf:q4_k_m", "QWEN2.5:0.5B"} {
		mf, err := resolveModel(ref)
		if err != nil {
			t.Fatalf("resolveModel(%q): %v", ref, err)
		}
		if b, _ := os.ReadFile(mf.Path); mf.Builtin || !bytes.Equal(b, q4) {
			t.Errorf("resolveModel(%q) = %+v, which does not hold the pulled file", ref, mf)
		}
	}
	_, out, _ = qilin(t, "list", "--json")
	var ms []store.Manifest
	if err := json.Unmarshal([]byte(out), &ms); err != nil || len(ms) != 2 {
		t.Fatalf("list --json: %v\n%s", err, out)
	}
	if ms[0].LastUsed.IsZero() || ms[0].Arch != "qwen2" || ms[0].Files[0].Digest != "sha256:"+hubtest.SHA256(q4) {
		t.Errorf("list --json after use: %+v", ms[0])
	}

	code, out, _ = qilin(t, "list", "--available")
	if code != 0 || !strings.Contains(out, "deepseek-r1:1.5b") || !strings.Contains(out, "hf.co/unsloth/DeepSeek-R1-Distill-Qwen-1.5B-GGUF:Q4_K_M") {
		t.Errorf("list --available:\n%s", out)
	}
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "qwen2.5:0.5b ") != strings.Contains(l, " yes ") {
			t.Errorf("pulled mark wrong on %q", l)
		}
	}

	code, out, _ = qilin(t, "rm", "hf.co/org/Tiny-GGUF", "qwen2.5:0.5b")
	if code != 0 || out != "removed hf.co/org/Tiny-GGUF:Q4_K_M\nremoved qwen2.5:0.5b\n" {
		t.Errorf("rm: exit %d, %q", code, out)
	}
	blobs, _ := os.ReadDir(filepath.Join(os.Getenv("QILIN_MODELS"), "blobs"))
	if len(blobs) != 0 {
		t.Errorf("blobs left after removing every model: %v", blobs)
	}
	code, _, errs = qilin(t, "rm", "qwen2.5:0.5b")
	if code != 1 || !strings.Contains(errs, `model "qwen2.5:0.5b" is not in the store`) {
		t.Errorf("rm of an absent model: exit %d, %q", code, errs)
	}
	if _, err := resolveModel("qwen2.5:0.5b"); err == nil || !strings.Contains(err.Error(), "qilin pull qwen2.5:0.5b") {
		t.Errorf("resolveModel after rm: %v, want advice to pull", err)
	}
}

func TestPullErrorsCLI(t *testing.T) {
	h, _ := storeEnv(t)
	tests := []struct {
		args    []string
		offline bool
		code    int
		says    string
	}{
		{[]string{"pull"}, false, 2, "name a model"},
		{[]string{"pull", "hf.co/org/Missing-GGUF"}, false, 1, "repository or revision not found"},
		{[]string{"pull", "hf.co/org/Tiny-GGUF/nope.gguf"}, false, 1, `file "nope.gguf" not found`},
		{[]string{"pull", "deepseek-r1"}, false, 1, "did you mean deepseek-r1:1.5b"},
		{[]string{"pull", "hf.co/org/Tiny-GGUF"}, true, 1, "QILIN_OFFLINE=1"},
		{[]string{"list", "extra"}, false, 2, "no arguments"},
		{[]string{"rm"}, false, 2, "name the models"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			if tt.offline {
				t.Setenv("QILIN_OFFLINE", "1")
			}
			before := h.Conns.Load()
			code, _, errs := qilin(t, tt.args...)
			if code != tt.code || !strings.Contains(errs, tt.says) {
				t.Errorf("exit %d, stderr %q; want exit %d saying %q", code, errs, tt.code, tt.says)
			}
			if tt.offline && h.Conns.Load() != before {
				t.Errorf("offline pull opened a connection")
			}
		})
	}
}

func TestResolveModelFileWins(t *testing.T) {
	storeEnv(t)
	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.WriteFile("qwen2.5:0.5b", []byte("GGUF"), 0o644); err != nil {
		t.Skip("file system does not allow ':' in names")
	}
	if got, err := resolveModel("qwen2.5:0.5b"); err != nil || got != (modelFile{Path: "qwen2.5:0.5b"}) {
		t.Errorf("resolveModel with a file of that name = %+v, %v; want the file", got, err)
	}
	if _, err := resolveModel("nothing.gguf"); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("resolveModel(nothing.gguf): %v", err)
	}
	if _, err := resolveModel(dir); err == nil || !strings.Contains(err.Error(), "directory") {
		t.Errorf("resolveModel(dir): %v", err)
	}
	if _, err := os.Stat(os.Getenv("QILIN_MODELS")); !os.IsNotExist(err) {
		t.Errorf("resolving names created the store directory: %v", err)
	}
}
