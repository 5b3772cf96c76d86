package train

import "math"

// RMSNorm, forward and backward, over n rows of e features:
//
//	out_i = x_i * rstd * w_i, rstd = 1 / sqrt(mean(x²) + eps)
//
// The forward follows kernels.RMSNorm's roundings (squares in float32,
// their sum in float64, mean and root in float32), so that training and
// inference normalize alike.

// rmsnormForward: x (n, e), w (e) -> out (n, e), rstd (n).
func rmsnormForward(out, rstd, x, w []float32, n, e int, eps float32) {
	for t := 0; t < n; t++ {
		xr := x[t*e : (t+1)*e]
		var ss float64
		for _, v := range xr {
			ss += float64(v * v)
		}
		mean := float32(ss / float64(e))
		r := 1 / float32(math.Sqrt(float64(mean+eps)))
		rstd[t] = r
		o := out[t*e : (t+1)*e]
		for i, v := range xr {
			o[i] = v * r * w[i]
		}
	}
}

// rmsnormBackward accumulates the gradients of rmsnormForward:
//
//	dout (n, e), x (n, e), w (e), rstd (n) -> dx (n, e) +=, dw (e) +=
//
// With g = dout ⊙ w and xhat = x * rstd: dx = rstd * (g - xhat * mean(g ⊙
// xhat)), dw = Σ_t dout ⊙ xhat. dw may be nil (a frozen norm).
func rmsnormBackward(dx, dw, dout, x, w, rstd []float32, n, e int) {
	for t := 0; t < n; t++ {
		xr, dr, dxr := x[t*e:(t+1)*e], dout[t*e:(t+1)*e], dx[t*e:(t+1)*e]
		r := rstd[t]
		var dot float32
		for i, v := range xr {
			dot += dr[i] * w[i] * v * r
		}
		dot /= float32(e)
		for i, v := range xr {
			xhat := v * r
			dxr[i] += r * (dr[i]*w[i] - xhat*dot)
			if dw != nil {
				dw[i] += dr[i] * xhat
			}
		}
	}
}
