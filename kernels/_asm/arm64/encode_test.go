package main

import (
	"bytes"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// TestEncodings assembles the ARM syntax of every WORD-encoded instruction
// of the generated file with llvm-mc and compares the encodings.
func TestEncodings(t *testing.T) {
	mc, err := exec.LookPath("llvm-mc")
	if err != nil {
		t.Skip("llvm-mc not installed")
	}
	asm, _, err := generate()
	if err != nil {
		t.Fatal(err)
	}
	word := regexp.MustCompile(`^\s*WORD\s+\$0x([0-9a-f]{8})\s*// (.*)$`)
	type ins struct {
		enc, text string
	}
	seen := map[string]string{}
	var all []ins
	for _, line := range strings.Split(string(asm), "\n") {
		m := word.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		if prev, ok := seen[m[2]]; ok {
			if prev != m[1] {
				t.Errorf("%s encoded both as %s and %s", m[2], prev, m[1])
			}
			continue
		}
		seen[m[2]] = m[1]
		all = append(all, ins{m[1], m[2]})
	}
	var src strings.Builder
	for _, in := range all {
		src.WriteString(in.text + "\n")
	}
	cmd := exec.Command(mc, "-triple=aarch64", "-mattr=+neon,+dotprod,+fullfp16", "-show-encoding")
	cmd.Stdin = strings.NewReader(src.String())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("llvm-mc: %v\n%s", err, stderr.String())
	}
	encRe := regexp.MustCompile(`encoding: \[0x(..),0x(..),0x(..),0x(..)\]`)
	var got []string
	for _, line := range strings.Split(string(out), "\n") {
		if m := encRe.FindStringSubmatch(line); m != nil {
			got = append(got, m[4]+m[3]+m[2]+m[1])
		}
	}
	if len(got) != len(all) {
		t.Fatalf("llvm-mc encoded %d of %d instructions", len(got), len(all))
	}
	for i, in := range all {
		if got[i] != in.enc {
			t.Errorf("%s: generated 0x%s, llvm-mc 0x%s", in.text, in.enc, got[i])
		}
	}
	t.Logf("%d distinct instructions checked", len(all))
}

// TestGeneratedFilesUpToDate checks that the checked-in files are what the
// generator writes.
func TestGeneratedFilesUpToDate(t *testing.T) {
	asm, decls, err := generate()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct {
		path string
		want []byte
	}{{"../../kernels_arm64.s", asm}, {"../../kernels_stubs_arm64.go", decls}} {
		got, err := os.ReadFile(f.path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, f.want) {
			t.Errorf("%s is stale: run go generate in kernels/_asm/arm64", f.path)
		}
	}
	if !bytes.HasPrefix(asm, []byte("// Code generated")) || !bytes.Contains(asm[:200], []byte("DO NOT EDIT.")) {
		t.Errorf("generated assembly must start with a Code generated ... DO NOT EDIT. line")
	}
}
