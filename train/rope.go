package train

import "github.com/qilin-ai/qilin/kernels"

// ropeTable holds the rotation of every position a batch can hold, with
// the angles inference computes (kernels.Rope.Thetas), so that a trained
// model sees at each position exactly the rotation it will see when run.
type ropeTable struct {
	hd   int       // head size; every dimension is rotated
	neox bool      // rotate (i, i+hd/2) rather than (2i, 2i+1)
	cs   []float32 // (positions, hd): cos, sin of each pair, interleaved
}

func newRopeTable(c Config, positions int) *ropeTable {
	r := kernels.Rope{Dims: c.HeadDim, Base: c.RopeBase, FreqScale: 1, NeoX: c.NeoX()}
	t := &ropeTable{hd: c.HeadDim, neox: c.NeoX(), cs: make([]float32, positions*c.HeadDim)}
	for p := 0; p < positions; p++ {
		r.Thetas(t.cs[p*c.HeadDim:(p+1)*c.HeadDim], p)
	}
	return t
}

// rotate rotates the heads of x (heads, hd) in place to position pos, or
// back from it when inverse (the transpose of the rotation, which is its
// backward: the gradient of a rotated vector is the inversely rotated
// gradient).
func (r *ropeTable) rotate(x []float32, heads, pos int, inverse bool) {
	half := r.hd / 2
	cs := r.cs[pos*r.hd : (pos+1)*r.hd]
	for h := 0; h < heads; h++ {
		v := x[h*r.hd : (h+1)*r.hd]
		for i := 0; i < half; i++ {
			c, s := cs[2*i], cs[2*i+1]
			if inverse {
				s = -s
			}
			ia, ib := 2*i, 2*i+1
			if r.neox {
				ia, ib = i, i+half
			}
			x0, x1 := v[ia], v[ib]
			v[ia] = x0*c - x1*s
			v[ib] = x0*s + x1*c
		}
	}
}
