package kernels

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/qilin-ai/qilin/quant"
)

// TestQuantizeActivations checks every kernel set's activation quantizers
// byte for byte against package quant's reference quantizers, on finite
// inputs: random rows of several magnitudes, all-zero blocks, a maximum that
// appears with both signs, exact .5 ties, subnormals and huge values.
func TestQuantizeActivations(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	cases := map[string]func(n int) []float32{
		"normal": func(n int) []float32 { return randVec(rng, n, 1) },
		"tiny":   func(n int) []float32 { return randVec(rng, n, 1e-40) },
		"huge":   func(n int) []float32 { return randVec(rng, n, 1e37) },
		"zeros": func(n int) []float32 {
			x := randVec(rng, n, 1)
			clear(x[:min(n, 256)])
			return x
		},
		"ties": func(n int) []float32 {
			// With a maximum of 127 the scale is 1 and k+0.5 is a tie.
			x := make([]float32, n)
			for i := range x {
				x[i] = float32(rng.IntN(253)-126) + 0.5
				if i%32 == 7 {
					x[i] = 127
				}
			}
			return x
		},
		"signed max": func(n int) []float32 {
			x := randVec(rng, n, 1)
			for b := 0; b+32 <= n; b += 32 {
				x[b+3], x[b+17] = -9, 9
				if b%64 == 0 {
					x[b+3], x[b+17] = 9, -9
				}
			}
			return x
		},
	}
	for _, ks := range kernelSets {
		for _, at := range []quant.Type{quant.Q8_0, quant.Q8_K, quant.F16} {
			for name, gen := range cases {
				for _, nb := range []int{1, 2, 7} {
					n := nb * at.BlockLen()
					if at == quant.F16 {
						n = nb*32 + 5
					}
					x := gen(n)
					rb, _ := at.RowSize(n)
					want, got := make([]byte, rb), make([]byte, rb+1)[1:]
					if err := quant.QuantizeActivations(at, x, want); err != nil {
						t.Fatal(err)
					}
					ks.quantizeRow(at, x, got)
					if !bytes.Equal(got, want) {
						t.Errorf("%s %s %s nb=%d: differs from quant.QuantizeActivations at byte %s", ks.name, at, name, nb, firstDiff(got, want))
					}
				}
			}
		}
	}
}

// TestToF16 checks every set's float to f16 conversion against
// quant.FP32ToFP16 on normal, tiny (subnormal results), huge (overflow) and
// tie values, at lengths that leave tails.
func TestToF16(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 9))
	for _, ks := range kernelSets {
		for _, n := range []int{0, 1, 7, 8, 61} {
			for _, scale := range []float64{1, 1e-6, 7e4, 1e-40} {
				x := randVec(rng, n, scale)
				if n > 2 {
					x[0], x[1] = 1+1.0/2048, 65520 // a tie to even, the smallest overflow
				}
				got := make([]uint16, n)
				ks.toF16(got, x)
				for i, v := range x {
					if want := quant.FP32ToFP16(v); got[i] != want {
						t.Errorf("%s: %v -> %#x, want %#x", ks.name, v, got[i], want)
					}
				}
			}
		}
	}
}

func randVec(rng *rand.Rand, n int, scale float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64() * scale)
	}
	return x
}

func firstDiff(a, b []byte) string {
	for i := range a {
		if a[i] != b[i] {
			return fmt.Sprintf("%d (%#x, want %#x)", i, a[i], b[i])
		}
	}
	return "none"
}
