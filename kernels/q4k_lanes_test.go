package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/qilin-ai/qilin/quant"
)

// dotQ4_KLanesPlain is dotQ4_KLanes written element by element, as ggml's
// AVX2 vec_dot is described: the reference its faster form must match bit
// for bit.
func dotQ4_KLanesPlain(n int, w, a []byte) float32 {
	var s laneDot
	var accm [4]float32
	q := make([]int32, 32)
	sc32 := make([]int32, 32)
	for b := 0; b < n/256; b++ {
		x := w[144*b : 144*b+144]
		da, qa, bsums := q8KBlock(a[292*b : 292*b+292])
		var lanes [8]int32
		for j := 0; j < 8; j++ {
			sc, _ := scaleMinK4(j, x[4:16])
			for e := 0; e < 32; e++ {
				q[e] = int32(x[16+32*(j/2)+e] >> (4 * (j % 2)) & 0xF)
				sc32[e] = sc
			}
			lanes32(&lanes, q, sc32, qa[32*j:32*j+32])
		}
		dmin := -da * f16At(x, 2)
		for k := range accm {
			_, m0 := scaleMinK4(2*k, x[4:16])
			_, m1 := scaleMinK4(2*k+1, x[4:16])
			p := m0*(bsums[4*k]+bsums[4*k+1]) + m1*(bsums[4*k+2]+bsums[4*k+3])
			accm[k] = fma32(dmin, float32(p), accm[k])
		}
		s.add(da*f16At(x, 0), &lanes)
	}
	return reduceLanes(&s.acc) + ((accm[0] + accm[2]) + (accm[1] + accm[3]))
}

func TestDotQ4_KLanesMatchesPlain(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	for _, n := range []int{256, 512, 1536} {
		for trial := 0; trial < 20; trial++ {
			wf, af := make([]float32, n), make([]float32, n)
			for i := range wf {
				wf[i], af[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64()*3)
			}
			wn, _ := quant.Q4_K.RowSize(n)
			an, _ := quant.Q8_K.RowSize(n)
			w, a := make([]byte, wn), make([]byte, an)
			if err := quant.Quantize(quant.Q4_K, wf, w); err != nil {
				t.Fatal(err)
			}
			if err := quant.QuantizeActivations(quant.Q8_K, af, a); err != nil {
				t.Fatal(err)
			}
			got, want := dotQ4_KLanes(n, w, a), dotQ4_KLanesPlain(n, w, a)
			if math.Float32bits(got) != math.Float32bits(want) {
				t.Fatalf("n=%d trial %d: %v, element-wise form %v", n, trial, got, want)
			}
		}
	}
}
