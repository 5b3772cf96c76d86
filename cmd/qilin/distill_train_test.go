package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qilin-ai/qilin/gguf"
	"github.com/qilin-ai/qilin/internal/testdata"
	"github.com/qilin-ai/qilin/model"
)

// storyData writes a collect-style folder of n short stories whose
// manifest names teacher as a local model.
func storyData(t *testing.T, n int, teacher string) string {
	t.Helper()
	dir := t.TempDir()
	var b bytes.Buffer
	names := []string{"Lily", "Tom", "Max", "Sue"}
	for i := 0; i < n; i++ {
		nm := names[i%len(names)]
		story := fmt.Sprintf("Once upon a time, there was a girl named %s. %s liked to play in the park. The end.", nm, nm)
		rec := map[string]any{"prompt_id": fmt.Sprint(i), "sample": 0, "finish_reason": "stop",
			"messages": []map[string]string{{"role": "user", "content": "Tell me a story."}, {"role": "assistant", "content": story}}}
		js, _ := json.Marshal(rec)
		b.Write(append(js, '\n'))
	}
	if err := os.WriteFile(filepath.Join(dir, "samples.jsonl"), b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	man, _ := json.Marshal(map[string]any{"teacher": map[string]string{"model": teacher, "endpoint": "local"}})
	if err := os.WriteFile(filepath.Join(dir, "manifest.json"), man, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// qilinAll runs the command line and returns its combined output and exit
// status.
func qilinAll(t *testing.T, args ...string) (string, int) {
	t.Helper()
	code, out, errb := qilin(t, args...)
	return out + errb, code
}

// TestDistillTrain runs qilin distill train end to end on a tiny student
// whose tokenizer comes from the dataset's teacher: the outputs are written
// beside --out, the student loads with model.Load, a resumed run ends at
// the same loss as the uninterrupted one, and perplexity evaluates it.
func TestDistillTrain(t *testing.T) {
	teacher := testdata.Path(t, "models", "TinyStories-656K-Q8_0.gguf")
	data := storyData(t, 60, teacher)
	shape := filepath.Join(t.TempDir(), "shape.json")
	os.WriteFile(shape, []byte(`{"arch": "llama", "n_embd": 32, "n_layer": 1, "n_head": 2, "n_head_kv": 1, "n_ff": 64, "tied": true}`), 0o644)
	common := []string{"distill", "train", "--data", data, "--student", shape, "--steps", "12", "--batch", "4", "--micro-batch", "2",
		"--seq-len", "64", "--threads", "2", "--checkpoint-every", "5"}
	outA := filepath.Join(t.TempDir(), "a", "student.gguf")
	log, code := qilinAll(t, append(common, "--out", outA)...)
	if code != 0 {
		t.Fatalf("train failed (%d):\n%s", code, log)
	}
	for _, name := range []string{"student.gguf", "train.jsonl", "loss.svg", "checkpoints/latest"} {
		if _, err := os.Stat(filepath.Join(filepath.Dir(outA), name)); err != nil {
			t.Errorf("missing output: %v", err)
		}
	}
	f, err := gguf.Open(outA)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := model.Load(f); err != nil {
		t.Errorf("model.Load of the student: %v", err)
	}
	f.Close()

	// Roll a second run back to its step-10 checkpoint, as a crash after
	// step 10 would leave it, and resume: every logged loss must be the
	// uninterrupted run's.
	outB := filepath.Join(t.TempDir(), "b", "student.gguf")
	if log, code := qilinAll(t, append(common, "--out", outB)...); code != 0 {
		t.Fatalf("train failed:\n%s", log)
	}
	ck := filepath.Join(filepath.Dir(outB), "checkpoints")
	os.RemoveAll(filepath.Join(ck, "step-00000012"))
	os.WriteFile(filepath.Join(ck, "latest"), []byte("step-00000010\n"), 0o644)
	if log, code := qilinAll(t, append(common, "--out", outB, "--resume")...); code != 0 || !strings.Contains(log, "resuming at step 10") {
		t.Fatalf("resume failed (%d):\n%s", code, log)
	}
	a, _ := os.ReadFile(filepath.Join(filepath.Dir(outA), "train.jsonl"))
	b, _ := os.ReadFile(filepath.Join(filepath.Dir(outB), "train.jsonl"))
	if la, lb := lossesOf(t, a), lossesOf(t, b); fmt.Sprint(la) != fmt.Sprint(lb) {
		t.Errorf("losses after resume differ:\nwhole   %v\nresumed %v", la, lb)
	}

	out, code := qilinAll(t, "distill", "perplexity", "--model", outA, "--data", data, "--seq-len", "64")
	if code != 0 || !strings.Contains(out, "perplexity") {
		t.Errorf("perplexity failed (%d): %s", code, out)
	}

	// KD needs what the data or the teacher lacks.
	if out, code := qilinAll(t, append(common, "--out", outA, "--kd", "topk")...); code == 0 || !strings.Contains(out, "no top-k") {
		t.Errorf("--kd topk without logprobs: code %d: %s", code, out)
	}
	other := testdata.Path(t, "models", "stories260K.gguf")
	if out, code := qilinAll(t, append(common, "--out", outA, "--kd", "online", "--teacher", other)...); code == 0 || !strings.Contains(out, "vocabulary") {
		t.Errorf("--kd online with another vocabulary: code %d: %s", code, out)
	}
}

func lossesOf(t *testing.T, jsonl []byte) []float64 {
	t.Helper()
	var out []float64
	for _, line := range strings.Split(strings.TrimSpace(string(jsonl)), "\n") {
		var s struct {
			Loss float64 `json:"loss"`
		}
		if err := json.Unmarshal([]byte(line), &s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s.Loss)
	}
	return out
}
