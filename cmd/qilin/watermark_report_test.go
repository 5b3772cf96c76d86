package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qilin-ai/qilin/watermark"
)

func TestWatermarkReportCommand(t *testing.T) {
	model := writeTokenizeVocab(t)
	k, _ := watermark.NewKey(watermark.Gumbel, 4)
	keyFile := writeKeyFile(t, k)
	dir := t.TempDir()
	marked := filepath.Join(dir, "marked.txt")
	plain := filepath.Join(dir, "plain.txt")
	os.WriteFile(marked, []byte(markedLetters(watermark.NewMarker(k), 300)), 0o600)
	os.WriteFile(plain, []byte(strings.Repeat("abcdfgijklmnopqrstuvwxyz", 12)), 0o600)
	out := filepath.Join(dir, "report.html")
	stdout, errs, code := runCLI(t, "watermark", "report", "--key-file", keyFile, "--model", model, "--text", marked, "--text", plain, "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	if !strings.Contains(stdout, out) || !strings.Contains(page, "marked.txt") || !strings.Contains(page, ">watermarked</span>") || !strings.Contains(page, "no watermark found") {
		t.Errorf("report does not show both texts and their verdicts (stdout %q)", stdout)
	}
	for _, bad := range [][]string{
		{"--key-file", keyFile, "--out", out},                       // nothing to report
		{"--key-file", keyFile, "--text", marked, "--out", out},     // no model
		{"--key-file", keyFile, "--model", model, "--text", marked}, // no out
		{"--model", model, "--text", marked, "--out", out},          // no key
	} {
		if _, _, code := runCLI(t, append([]string{"watermark", "report"}, bad...)...); code != 2 {
			t.Errorf("report %v: exit %d, want 2", bad, code)
		}
	}
}
