package kernels

import "math"

// scaled reports whether r scales its angles or magnitudes, which Thetas
// then computes as ggml's rope_yarn does.
func (r *Rope) scaled() bool {
	return r.ExtFactor != 0 || r.FreqScale != 1 || (r.AttnFactor != 0 && r.AttnFactor != 1)
}

// scaledThetas is Thetas for scaled RoPE, in ggml's float32 arithmetic
// (ggml_rope_cache_init and rope_yarn): the extrapolated angle of pair i is
// pos × theta_scale^i / Factors[i], the interpolated one that × FreqScale.
func (r *Rope) scaledThetas(cs []float32, pos int) {
	half := r.Dims / 2
	thetaScale := float32(math.Pow(r.Base, -2/float64(r.Dims)))
	fs := float32(r.FreqScale)
	mscale := r.AttnFactor
	if mscale == 0 {
		mscale = 1
	}
	if r.ExtFactor != 0 {
		mscale *= 1 + float32(0.1*logf(1/fs))
	}
	theta := float32(pos)
	for i := 0; i < half; i++ {
		extrap := theta
		if r.Factors != nil {
			extrap /= r.Factors[i]
		}
		t := float32(fs * extrap)
		if r.ExtFactor != 0 {
			mix := yarnRamp(r.CorrDims[0], r.CorrDims[1], i) * r.ExtFactor
			t = float32(t*(1-mix)) + float32(extrap*mix)
		}
		s, c := math.Sincos(float64(t))
		cs[2*i], cs[2*i+1] = float32(float32(c)*mscale), float32(float32(s)*mscale)
		theta *= thetaScale
	}
}

// yarnRamp is 1 for pairs below low, 0 above high and linear between
// (ggml's rope_yarn_ramp with i0/2 = pair).
func yarnRamp(low, high float32, pair int) float32 {
	y := (float32(pair) - low) / max(0.001, high-low)
	return 1 - min(1, max(0, y))
}

// YaRNCorrDims returns the first and last pair dimensions that YaRN ramps
// between, for dims rotated dimensions, the original training context and
// the ramp's corners betaFast and betaSlow (llama.cpp's defaults: 32 and 1),
// as ggml_rope_yarn_corr_dims computes them in float32.
func YaRNCorrDims(dims, nCtxOrig int, base float64, betaFast, betaSlow float32) [2]float32 {
	corr := func(nRot float32) float32 {
		return float32(dims) * logf(float32(nCtxOrig)/float32(nRot*2*math.Pi)) / (2 * logf(float32(base)))
	}
	start := float32(math.Floor(float64(corr(betaFast))))
	end := float32(math.Ceil(float64(corr(betaSlow))))
	return [2]float32{max(0, start), min(float32(dims-1), end)}
}

// logf is the float32 natural logarithm (C's logf, correctly rounded).
func logf(x float32) float32 { return float32(math.Log(float64(x))) }
