package main

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

// TestReadmeBuildIsStatic: the README's build line turns cgo off, and the
// binary it builds (on Linux, unless -short) needs no dynamic loader or
// shared library, as the README's "no cgo" promises.
func TestReadmeBuildIsStatic(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("`((?:[A-Z_]+=\\S+ )*go build [^`]*)`").FindSubmatch(readme)
	if m == nil {
		t.Fatal("README.md has no `go build ...` line")
	}
	line := string(m[1])
	if !strings.Contains(line, "CGO_ENABLED=0") && !strings.Contains(line, "netgo") {
		t.Fatalf("README's build line %q neither sets CGO_ENABLED=0 nor the netgo tag", line)
	}
	if testing.Short() || runtime.GOOS != "linux" {
		t.Skip("building the binary: not with -short, and the check reads ELF (Linux)")
	}
	// Run the line as it is, but for where the binary goes.
	fields := strings.Fields(line)
	var env []string
	for len(fields) > 0 && strings.Contains(fields[0], "=") {
		env, fields = append(env, fields[0]), fields[1:]
	}
	out := filepath.Join(t.TempDir(), "qilin")
	args := fields[2:] // after "go build"
	for i := range args {
		if args[i] == "-o" && i+1 < len(args) {
			args[i+1] = out
		}
	}
	cmd := exec.Command("go", append([]string{"build"}, args...)...)
	cmd.Dir = filepath.Join("..", "..")
	cmd.Env = append(os.Environ(), env...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", line, err, b)
	}
	f, err := elf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("%s makes a binary that asks for a dynamic loader", line)
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("%s makes a binary that needs %v", line, libs)
	}
}
