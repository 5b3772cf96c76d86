package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// swigluInputs are random gate values over the range SwiGLU meets, values
// whose exponential overflows, underflows or is denormal, and the
// non-finite values.
func swigluInputs(rng *rand.Rand) []float32 {
	x := []float32{0, float32(math.Copysign(0, -1)), 1, -1, 87.3, 88.37, 88.38, 88.4, 89, 100, 103.9, 103.97, 104, 120, 133.1, 133.2, 150, 1e4,
		-87.3, -88.38, -88.4, -89, -103.97, -104, -133.1, -133.2, -150, -1e4, 3e38, -3e38,
		float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), 1e-30, -1e-45}
	for i := 0; i < 1<<17; i++ {
		switch i % 3 {
		case 0:
			x = append(x, float32(rng.NormFloat64()*4))
		case 1:
			x = append(x, float32((rng.Float64()*2-1)*300))
		default:
			x = append(x, math.Float32frombits(rng.Uint32()))
		}
	}
	return x
}

// TestSwiGLUKernelSets checks every set's SwiGLU against swigluGo, bit for
// bit (NaN for NaN), on unaligned slices with a ragged tail.
func TestSwiGLUKernelSets(t *testing.T) {
	rng := rand.New(rand.NewPCG(20, 21))
	x := swigluInputs(rng)
	up := randVec(rng, len(x), 2)
	want := append([]float32(nil), x...)
	swigluGo(want, up)
	for _, ks := range kernelSets {
		for _, off := range []int{0, 5} {
			got := append([]float32(nil), x[off:]...)
			ks.swiglu(got, up[off:])
			for i := range got {
				if math.Float32bits(got[i]) != math.Float32bits(want[off+i]) && !(isNaN32(got[i]) && isNaN32(want[off+i])) {
					t.Fatalf("%s: swiglu(%v, %v) = %v, swigluGo %v", ks.name, x[off+i], up[off+i], got[i], want[off+i])
				}
			}
		}
	}
}

func isNaN32(v float32) bool { return v != v }
