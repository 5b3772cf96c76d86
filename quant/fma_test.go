package quant

import (
	"flag"
	"os/exec"
	"regexp"
	"testing"
)

var fmaCheck = flag.Bool("fmacheck", false, "compile the package for arm64 and amd64/v3 and fail on fused multiply-adds (slow on a cold build cache)")

// ggml rounds every float32 product before adding it; Go may fuse x*y+z
// into one rounding on arm64, ppc64le, s390x, riscv64 (and amd64 with
// GOAMD64=v3) unless an explicit float32(...) conversion forbids it. A fused
// instruction anywhere in this package would break bit-exactness with
// llama.cpp on those machines, so compile for two of them and look for one:
//
//	go test ./quant/ -run NoFusedMultiplyAdd -fmacheck
//
// It is off by default because a cold build cache compiles the standard
// library for each target (a minute or more).
func TestNoFusedMultiplyAdd(t *testing.T) {
	if !*fmaCheck {
		t.Skip("run with -fmacheck")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not found")
	}
	fused := regexp.MustCompile(`(?m)^\s+0x[0-9a-f]+ \d+ \(([^)]*)\)\s+(FMADD\w*|FMSUB\w*|FNMADD\w*|FNMSUB\w*|VFMADD\w*|VFMSUB\w*|VFNMADD\w*|VFNMSUB\w*|WFMA\w*|WFMS\w*)\b`)
	for _, env := range [][]string{{"GOARCH=arm64"}, {"GOARCH=amd64", "GOAMD64=v3"}} {
		cmd := exec.Command(goTool, "build", "-gcflags=-S", "-o", "/dev/null", ".")
		cmd.Env = append(cmd.Environ(), append(env, "CGO_ENABLED=0")...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v go build: %v\n%s", env, err, out)
		}
		for _, m := range fused.FindAllStringSubmatch(string(out), 5) {
			t.Errorf("%v: fused multiply-add %s at %s", env, m[2], m[1])
		}
	}
}
