package quant

import (
	"math/rand/v2"
	"testing"
)

// FuzzDequantize decodes arbitrary bytes as each implemented type, and dots
// them with arbitrary activation bytes: nothing may panic (NaN and Inf are
// allowed results).
func FuzzDequantize(f *testing.F) {
	r := rand.New(rand.NewPCG(3, 4))
	random := make([]byte, 700)
	for i := range random {
		random[i] = byte(r.Uint32())
	}
	ones := make([]byte, 600)
	for i := range ones {
		ones[i] = 0xff
	}
	f.Add(uint8(0), []byte{})
	f.Add(uint8(3), make([]byte, 300))
	f.Add(uint8(9), ones)
	f.Add(uint8(11), random)
	f.Add(uint8(12), random[:292])
	f.Add(uint8(14), []byte{0x00, 0x7c, 0xff, 0x7f, 1, 2, 3})
	f.Fuzz(func(t *testing.T, sel uint8, data []byte) {
		typ := implemented[int(sel)%len(implemented)]
		blocks := len(data) / typ.BlockSize()
		n := blocks * typ.BlockLen()
		src := data[:blocks*typ.BlockSize()]
		dst := make([]float32, n)
		if err := Dequantize(typ, src, dst); err != nil {
			t.Fatalf("%s, %d bytes: %v", typ, len(src), err)
		}
		if !HasVecDot(typ) {
			return
		}
		at := VecDotType(typ)
		a := make([]byte, n/at.BlockLen()*at.BlockSize())
		for i := range a {
			if len(data) > 0 {
				a[i] = data[(i*7+int(sel))%len(data)]
			}
		}
		_ = VecDot(typ, n, src, a)
	})
}
