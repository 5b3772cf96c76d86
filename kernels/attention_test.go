package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/qilin-ai/qilin/quant"
)

// TestAttentionKernelSets runs AttentionHead on every kernel set: each must
// give the bits of attentionHeadRef, the position-by-position recurrence,
// which must agree with a float64 softmax over the f16 cache to f16
// precision. Contexts of 600 positions cross the block boundary.
func TestAttentionKernelSets(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, dims := range [][2]int{{64, 64}, {128, 128}, {20, 36}, {8, 8}, {64, 80}, {96, 96}} {
		hk, hv := dims[0], dims[1]
		for _, n := range []int{1, 2, 17, 300, 600} {
			kStride, vStride := hk+8, hv+3
			k := make([]uint16, n*kStride)
			v := make([]uint16, n*vStride)
			for i := range k {
				k[i] = quant.FP32ToFP16(float32(rng.NormFloat64()))
			}
			for i := range v {
				v[i] = quant.FP32ToFP16(float32(rng.NormFloat64()))
			}
			q := make([]float32, hk)
			for i := range q {
				q[i] = float32(rng.NormFloat64() * 2)
			}
			scale := float32(1 / math.Sqrt(float64(hk)))
			want := make([]float32, hv)
			attentionHeadRef(want, q, k, kStride, v, vStride, n, scale)

			// float64 reference over the same f16 values.
			scores := make([]float64, n)
			m := math.Inf(-1)
			for j := range scores {
				for i := range q {
					scores[j] += float64(quant.FP16ToFP32(quant.FP32ToFP16(q[i]))) * float64(quant.FP16ToFP32(k[j*kStride+i]))
				}
				scores[j] *= float64(scale)
				m = math.Max(m, scores[j])
			}
			var sum float64
			for j := range scores {
				scores[j] = math.Exp(scores[j] - m)
				sum += scores[j]
			}
			for i := range want {
				var ref float64
				for j := range scores {
					ref += scores[j] / sum * float64(quant.FP16ToFP32(v[j*vStride+i]))
				}
				if math.Abs(ref-float64(want[i])) > 4e-3*(1+math.Abs(ref)) {
					t.Errorf("hk %d n %d: generic out[%d] = %v, float64 softmax %v", hk, n, i, want[i], ref)
				}
			}
			for _, ks := range kernelSets {
				got := make([]float32, hv)
				attentionHead(ks, got, q, k, kStride, v, vStride, n, scale, NewAttnScratch(hk, hv))
				for i := range got {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Errorf("%s hk %d hv %d n %d: out[%d] = %v, generic %v", ks.name, hk, hv, n, i, got[i], want[i])
						break
					}
				}
			}
		}
	}
}

// attentionHeadRef is llama.cpp's flash-attention recurrence one position at
// a time, in Go: the specification the blocked kernels must reproduce.
func attentionHeadRef(out, q []float32, k []uint16, kStride int, v []uint16, vStride int, n int, scale float32) {
	qf := make([]float32, len(q))
	for i, x := range q {
		qf[i] = quant.FP16ToFP32(quant.FP32ToFP16(x))
	}
	acc := make([]uint16, len(out))
	var sum float32
	m := float32(math.Inf(-1))
	for j := 0; j < n; j++ {
		score := float32(attnDotGo(qf, k[j*kStride:j*kStride+len(q)]) * scale) // rounded: no fused multiply-add
		ms, vs := float32(1), float32(1)
		rescale := score > m
		if rescale {
			ms = expf(m - score)
			m = score
		} else {
			vs = expf(score - m)
		}
		attnAccGo(acc, v[j*vStride:j*vStride+len(out)], ms, vs, rescale)
		sum = fma32(sum, ms, vs)
	}
	inv := float32(0)
	if sum != 0 {
		inv = 1 / sum
	}
	for i, a := range acc {
		out[i] = quant.FP16ToFP32(a) * inv
	}
}

// TestAttentionRescales drives the running maximum up at many positions
// (rising scores, a query aligned with ever larger keys), so that the
// blocked kernels rescale the accumulator inside and across blocks exactly
// where the recurrence does.
func TestAttentionRescales(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	const hk, hv, n = 64, 64, 700
	k, v := make([]uint16, n*hk), make([]uint16, n*hv)
	q := make([]float32, hk)
	for i := range q {
		q[i] = float32(rng.NormFloat64())
	}
	for j := 0; j < n; j++ {
		grow := float32(j%97) * 0.05 // rises, falls back every 97 positions
		for i := 0; i < hk; i++ {
			k[j*hk+i] = quant.FP32ToFP16(q[i]*grow + float32(rng.NormFloat64())*0.1)
			v[j*hv+i] = quant.FP32ToFP16(float32(rng.NormFloat64()))
		}
	}
	want := make([]float32, hv)
	attentionHeadRef(want, q, k, hk, v, hv, n, 0.125)
	for _, ks := range kernelSets {
		got := make([]float32, hv)
		attentionHead(ks, got, q, k, hk, v, hv, n, 0.125, NewAttnScratch(hk, hv))
		for i := range got {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("%s: out[%d] = %v, recurrence %v", ks.name, i, got[i], want[i])
			}
		}
	}
}

// TestExpf checks every set's expf stage against expf, bit for bit, on
// random arguments over the whole float32 range and on the special values
// and the edges of the underflow and overflow paths.
func TestExpf(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	var x []float32
	for _, v := range []float64{0, math.Copysign(0, -1), 1, -1, 88, 88.72, 88.73, -87.3, -88, -103.27, -103.29, -103.97, -103.98, -104, -700,
		1e30, -1e30, math.Inf(1), math.Inf(-1), math.NaN(), 1e-30, -1e-45} {
		x = append(x, float32(v))
	}
	for i := 0; i < 1<<18; i++ {
		switch i % 3 {
		case 0:
			x = append(x, -float32(rng.ExpFloat64()*10))
		case 1:
			x = append(x, float32((rng.Float64()*2-1)*110))
		default:
			x = append(x, math.Float32frombits(rng.Uint32()))
		}
	}
	for _, ks := range kernelSets {
		for _, off := range []int{0, 3} {
			got := make([]float32, len(x)-off)
			ks.expf(got, x[off:])
			for i, v := range x[off:] {
				want := expf(v)
				if math.Float32bits(got[i]) != math.Float32bits(want) && !(got[i] != got[i] && want != want) {
					t.Fatalf("%s: expf(%v) = %v (%#x), want %v (%#x)", ks.name, v, got[i], math.Float32bits(got[i]), want, math.Float32bits(want))
				}
			}
		}
	}
}

// TestExp checks every set's exp against Go's math.Exp rounded to float32,
// bit for bit, on random arguments over the whole float32 range and on the
// special values and the edges of the underflow and overflow paths.
func TestExp(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	var x []float32
	for _, v := range []float64{0, math.Copysign(0, -1), 1, -1, 88.72, 88.73, -87.3, -103.97, -103.98, -104, -700, -708.3, -708.4, -709, -745.1, -745.2, -746,
		709.7, 709.78, 709.8, 1e30, -1e30, math.Inf(1), math.Inf(-1), math.NaN(), 1e-30, -1e-45} {
		x = append(x, float32(v))
	}
	for i := 0; i < 1<<18; i++ {
		switch i % 4 {
		case 0:
			x = append(x, float32(rng.NormFloat64()*10))
		case 1:
			x = append(x, -float32(rng.ExpFloat64()*20))
		case 2:
			x = append(x, float32((rng.Float64()*2-1)*800))
		default:
			x = append(x, math.Float32frombits(rng.Uint32()))
		}
	}
	for _, ks := range kernelSets {
		for _, off := range []int{0, 3} { // an unaligned head and a ragged tail
			got := make([]float32, len(x)-off)
			ks.exp(got, x[off:])
			for i, v := range x[off:] {
				want := float32(math.Exp(float64(v)))
				if math.Float32bits(got[i]) != math.Float32bits(want) {
					t.Fatalf("%s: exp(%v) = %v (%#x), math.Exp %v (%#x)", ks.name, v, got[i], math.Float32bits(got[i]), want, math.Float32bits(want))
				}
			}
		}
	}
}

// TestAttentionTiledKernelSets runs AttentionBlockTiled on every kernel set
// over blocks of query rows at several positions (within the first tile,
// across tile boundaries, a full block of 64), head sizes with and without
// SIMD paths: each row must get the bits of attentionHeadTiled, llama.cpp's
// tiled loop for one row, which must agree with a float64 softmax.
func TestAttentionTiledKernelSets(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for _, dims := range [][2]int{{64, 64}, {128, 128}, {96, 96}, {80, 80}, {40, 48}, {24, 16}} {
		hk, hv := dims[0], dims[1]
		for _, blk := range [][2]int{{0, 5}, {3, 64}, {60, 9}, {130, 64}, {200, 1}} {
			pos0, rows := blk[0], blk[1]
			n := pos0 + rows
			kStride, vStride := hk+8, hv+3
			k := make([]uint16, n*kStride)
			v := make([]uint16, n*vStride)
			for i := range k {
				k[i] = quant.FP32ToFP16(float32(rng.NormFloat64()))
			}
			for i := range v {
				v[i] = quant.FP32ToFP16(float32(rng.NormFloat64()))
			}
			qStride, oStride := hk+5, hv+7
			q := make([]float32, rows*qStride)
			for i := range q {
				q[i] = float32(rng.NormFloat64() * 2)
			}
			scale := 1 / float32(math.Sqrt(float64(hk)))
			want := make([]float32, rows*hv)
			for r := 0; r < rows; r++ {
				attentionHeadTiled(want[r*hv:(r+1)*hv], q[r*qStride:r*qStride+hk], k, kStride, v, vStride, pos0+r+1, scale)
				for i := 0; i < hv; i++ { // float64 softmax over the same f16 values
					var ref, sum, m float64
					m = math.Inf(-1)
					sc := make([]float64, pos0+r+1)
					for j := range sc {
						for d := 0; d < hk; d++ {
							sc[j] += float64(q[r*qStride+d]) * float64(quant.FP16ToFP32(k[j*kStride+d]))
						}
						sc[j] *= float64(scale)
						m = math.Max(m, sc[j])
					}
					for j := range sc {
						sc[j] = math.Exp(sc[j] - m)
						sum += sc[j]
					}
					for j := range sc {
						ref += sc[j] / sum * float64(quant.FP16ToFP32(v[j*vStride+i]))
					}
					if g := float64(want[r*hv+i]); math.Abs(ref-g) > 1e-4*(1+math.Abs(ref)) {
						t.Fatalf("hk %d rows %d@%d: row %d out[%d] = %v, float64 softmax %v", hk, rows, pos0, r, i, g, ref)
					}
				}
			}
			for _, ks := range kernelSets {
				got := make([]float32, rows*oStride)
				attentionBlockTiled(ks, got, oStride, q, qStride, rows, pos0, k, kStride, v, vStride, scale, NewAttnScratch(hk, hv))
				for r := 0; r < rows; r++ {
					for i := 0; i < hv; i++ {
						if math.Float32bits(got[r*oStride+i]) != math.Float32bits(want[r*hv+i]) {
							t.Fatalf("%s hk %d hv %d rows %d@%d: row %d out[%d] = %v, spec %v", ks.name, hk, hv, rows, pos0, r, i, got[r*oStride+i], want[r*hv+i])
						}
					}
				}
			}
		}
	}
}
