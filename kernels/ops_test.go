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
	for _, ks := range kernelSets {
		for _, off := range []int{0, 5} {
			want := append([]float32(nil), x[off:]...)
			swigluGo(want, up[off:])
			got := append([]float32(nil), x[off:]...)
			ks.swiglu(got, up[off:])
			for i := range got {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) && !(isNaN32(got[i]) && isNaN32(want[i])) {
					t.Fatalf("%s: swiglu(%v, %v) = %v, swigluGo %v", ks.name, x[off+i], up[off+i], got[i], want[i])
				}
			}
		}
	}
}

func isNaN32(v float32) bool { return v != v }

// TestSwiGLUKnownValues checks SiLU (up = 1) over 16 lanes, the vector path,
// against values of ggml_vec_swiglu_f32 in llama.cpp's AVX-512 build
// (d32676d7) where they differ from x / (1 + float32(math.Exp(-x))).
func TestSwiGLUKnownValues(t *testing.T) {
	for _, c := range [][2]uint32{{0xc1efdc92, 0xac48e066}, {0xc1efb924, 0xac4c4393}, {0xc1ef95b6, 0xac4fb55c},
		{0xc1ef7248, 0xac5335fd}, {0xc1ef4eda, 0xac56c5b9}, {0xc1ef2b6c, 0xac5a64d0}, {0xc1ef07fe, 0xac5e1382}, {0xc1eee490, 0xac61d216}} {
		for _, ks := range kernelSets {
			g, up := make([]float32, 16), make([]float32, 16)
			for i := range g {
				g[i], up[i] = math.Float32frombits(c[0]), 1
			}
			ks.swiglu(g, up)
			for i, v := range g {
				if math.Float32bits(v) != c[1] {
					t.Fatalf("%s: silu(%v) lane %d = %#x, llama.cpp %#x", ks.name, math.Float32frombits(c[0]), i, math.Float32bits(v), c[1])
				}
			}
		}
	}
}
