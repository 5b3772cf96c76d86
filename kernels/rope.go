package kernels

// Rope holds the rotary position embedding parameters of a model.
type Rope struct {
	Dims      int       // rotated dimensions per head (n_rot), even, <= head size
	Base      float64   // rope.freq_base
	FreqScale float64   // 1 / linear scaling factor; 1 when unscaled
	NeoX      bool      // rotate pairs (i, i+Dims/2) instead of (2i, 2i+1)
	Factors   []float32 // optional per-pair frequency divisors (Llama 3 rope_freqs), len Dims/2

	// YaRN (rope.scaling.type yarn), as ggml's rope_yarn computes it: pairs
	// below CorrDims[0] keep their extrapolated angle, those above
	// CorrDims[1] take the interpolated one (angle × FreqScale), those
	// between are ramped, with the ramp weighted by ExtFactor; cos and sin
	// are then scaled by AttnFactor × (1 + 0.1 ln(1/FreqScale)). ExtFactor
	// 0 is plain (linear) scaling, where cos and sin are scaled by
	// AttnFactor alone; AttnFactor 0 means 1.
	ExtFactor  float32
	AttnFactor float32
	CorrDims   [2]float32 // see YaRNCorrDims
}

// Thetas fills cs (Dims) with interleaved cos, sin of the rotation angle of
// each pair at position pos: angle_i = FreqScale * pos*Base^(-2i/Dims) / Factors[i].
//
// The angles are computed as ggml's rope cache does: the power by powf and
// then repeated multiplication in float32, the factor and the scale applied
// per pair, and cosf and sinf with glibc's bits (libm.go). That rounding is
// part of what llama.cpp computes.
func (r *Rope) Thetas(cs []float32, pos int) {
	if r.scaled() {
		r.scaledThetas(cs, pos)
		return
	}
	half := r.Dims / 2
	thetaScale := powf(float32(r.Base), -2/float32(r.Dims))
	freqScale := float32(r.FreqScale)
	theta := float32(pos)
	for i := 0; i < half; i++ {
		t := theta
		if r.Factors != nil {
			t /= r.Factors[i]
		}
		t *= freqScale
		cs[2*i], cs[2*i+1] = cosf(t), sinf(t)
		theta *= thetaScale
	}
}

// Apply rotates each of the nHeads heads of x (nHeads × headDim) in place by
// the angles in cs, as computed by Thetas for the token's position.
func (r *Rope) Apply(x []float32, nHeads, headDim int, cs []float32) {
	half := r.Dims / 2
	for h := 0; h < nHeads; h++ {
		v := x[h*headDim : h*headDim+r.Dims]
		for i := 0; i < half; i++ {
			c, s := cs[2*i], cs[2*i+1]
			var a, b *float32
			if r.NeoX {
				a, b = &v[i], &v[i+half]
			} else {
				a, b = &v[2*i], &v[2*i+1]
			}
			x0, x1 := *a, *b
			// ggml's x0*c - x1*s and x0*s + x1*c, which its x86 build
			// contracts into one fused multiply-add each, the second
			// product rounded.
			*a = fma32(x0, c, -float32(x1*s))
			*b = fma32(x0, s, float32(x1*c))
		}
	}
}
