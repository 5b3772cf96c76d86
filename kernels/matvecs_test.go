package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/qilin-ai/qilin/quant"
)

// MatVecs must give, bit for bit, what MatMul gives for each matrix and its
// one input row, with one row shared by all the matrices or a row each, for
// expert stacks and plain matrices, rows that split unevenly between
// threads, and the formats a MoE file holds.
func TestMatVecsMatchesMatMul(t *testing.T) {
	pool := NewPool(3)
	defer pool.Close()
	rng := rand.New(rand.NewPCG(7, 9))
	for _, typ := range []quant.Type{quant.Q4_K, quant.Q5_K, quant.Q6_K, quant.Q8_0, quant.Q4_0, quant.F16, quant.F32} {
		for _, layout := range []Layout{Expert, Plain} {
			for _, rows := range []int{40, 44} {
				const m, cols = 5, 512
				ws := make([]Matrix, m)
				for j := range ws {
					ws[j] = randomMatrix(t, typ, rows+j, cols).Slice(j, rows+j) // distinct weights
					ws[j].Layout = layout
				}
				x := make([]float32, m*cols)
				for i := range x {
					x[i] = float32(rng.NormFloat64())
				}
				scratch := make([]byte, ActivationBytes(typ, cols, m))
				for _, shared := range []bool{true, false} {
					in := x
					if shared {
						in = x[:cols]
					}
					got := make([]float32, m*rows)
					pool.MatVecs(got, ws, in, scratch)
					for j, w := range ws {
						xj := in[:cols]
						if !shared {
							xj = in[j*cols : (j+1)*cols]
						}
						want := make([]float32, rows)
						pool.MatMul(want, w, xj, 1, make([]byte, ActivationBytes(typ, cols, 1)))
						for r := range want {
							if math.Float32bits(got[j*rows+r]) != math.Float32bits(want[r]) {
								t.Fatalf("%s layout %d rows %d shared %v: matrix %d row %d: %v, MatMul %v", typ, layout, rows, shared, j, r, got[j*rows+r], want[r])
							}
						}
					}
				}
			}
		}
	}
}
