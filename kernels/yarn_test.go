package kernels

import (
	"fmt"
	"math"
	"testing"
)

// yarnReference returns cos and sin of every pair at pos as Hugging Face's
// YaRN (_compute_yarn_parameters, in float64) defines them: inverse
// frequencies blended from extrapolated and interpolated by a linear ramp
// between the correction dims, and cos/sin scaled by attention factor
// attn × (0.1 ln(factor) + 1).
func yarnReference(dims int, base, factor float64, nCtxOrig int, attn float64, pos int) []float64 {
	corr := func(rot float64) float64 {
		return float64(dims) * math.Log(float64(nCtxOrig)/(rot*2*math.Pi)) / (2 * math.Log(base))
	}
	low := math.Max(math.Floor(corr(32)), 0)
	high := math.Min(math.Ceil(corr(1)), float64(dims-1))
	out := make([]float64, dims)
	mscale := attn * (0.1*math.Log(factor) + 1)
	for i := 0; i < dims/2; i++ {
		extrap := 1 / math.Pow(base, float64(2*i)/float64(dims))
		interp := extrap / factor
		ramp := math.Min(1, math.Max(0, (float64(i)-low)/math.Max(0.001, high-low)))
		extrapFactor := 1 - ramp
		theta := float64(pos) * (interp*(1-extrapFactor) + extrap*extrapFactor)
		out[2*i], out[2*i+1] = math.Cos(theta)*mscale, math.Sin(theta)*mscale
	}
	return out
}

func TestYaRNThetas(t *testing.T) {
	for _, tc := range []struct {
		dims         int
		base, factor float64
		nCtxOrig     int
		attn         float32
		pos          int
	}{
		{16, 10000, 4, 4096, 1, 3},
		{16, 10000, 4, 4096, 0.8782, 1000},
		{64, 10000, 40, 4096, 1, 5000},
		{128, 1e6, 4, 32768, 1, 50},
		{128, 1e6, 4, 32768, 1, 30000},
	} {
		t.Run(fmt.Sprintf("d%d-f%g-pos%d", tc.dims, tc.factor, tc.pos), func(t *testing.T) {
			r := Rope{Dims: tc.dims, Base: tc.base, FreqScale: float64(float32(1 / tc.factor)), ExtFactor: 1, AttnFactor: tc.attn,
				CorrDims: YaRNCorrDims(tc.dims, tc.nCtxOrig, tc.base, 32, 1)}
			cs := make([]float32, tc.dims)
			r.Thetas(cs, tc.pos)
			want := yarnReference(tc.dims, tc.base, tc.factor, tc.nCtxOrig, float64(tc.attn), tc.pos)
			// The float32 angle of pair i, pos × theta_scale^i, carries
			// about i+1 roundings of its value, at most ~2 × 2^-23 × pos
			// absolute; cos and sin add one rounding each.
			tol := 1e-6 + float64(tc.pos)*2.4e-7
			t.Logf("tolerance %.3g absolute", tol)
			for i := range want {
				if d := math.Abs(float64(cs[i]) - want[i]); d > tol {
					t.Errorf("cs[%d] = %v, want %v (|diff| %.3g)", i, cs[i], want[i], d)
				}
			}
		})
	}
	// Unscaled parameters take the plain path, and an explicit AttnFactor
	// of 1 or FreqScale of 1 changes no bit.
	plain, scaled := Rope{Dims: 16, Base: 10000, FreqScale: 1}, Rope{Dims: 16, Base: 10000, FreqScale: 1, AttnFactor: 1}
	a, b := make([]float32, 16), make([]float32, 16)
	plain.Thetas(a, 777)
	scaled.Thetas(b, 777)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("AttnFactor 1 changes cs[%d]: %v vs %v", i, a[i], b[i])
		}
	}
}
