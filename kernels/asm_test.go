//go:build !purego && amd64

package kernels

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestAssemblyIsAVX2 guards the generated assembly against AVX-512 forms
// that would fault on AVX2 CPUs but run on the AVX-512 machines a test may
// happen to use: avo's register allocator reaches for X16-X31/Y16-Y31 when a
// kernel needs more than 16 vector registers, and a shift by an immediate
// of a memory operand exists only in EVEX.
func TestAssemblyIsAVX2(t *testing.T) {
	for _, file := range []string{"kernels_amd64.s", "gemm_amd64.s"} {
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(src), "// Code generated") {
			t.Errorf("%s must be generated (go generate in _asm or _asm/gemm)", file)
		}
		re := regexp.MustCompile(`\b([XY](1[6-9]|2[0-9]|3[01])|Z[0-9]+|K[1-7])\b|VPS(LL|RL|RA)[WDQ]\s+\$[^,]+,\s*[^,]*\(`)
		fn := ""
		for i, line := range strings.Split(string(src), "\n") {
			if strings.HasPrefix(line, "TEXT") {
				fn = line
			}
			if m := re.FindString(line); m != "" && !strings.HasPrefix(strings.TrimSpace(line), "//") {
				t.Errorf("%s line %d (%s): %s needs AVX-512: %s", file, i+1, fn, m, strings.TrimSpace(line))
			}
		}
	}
}
