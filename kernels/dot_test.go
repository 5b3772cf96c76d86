package kernels

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/qilin-ai/qilin/quant"
)

// dotTypes are the weight types with dot kernels.
var dotTypes = []quant.Type{quant.F32, quant.F16, quant.BF16, quant.Q8_0, quant.Q4_0, quant.Q4_1, quant.Q5_0, quant.Q5_1, quant.Q2_K, quant.Q3_K, quant.Q4_K, quant.Q5_K, quant.Q6_K}

// scaleFields returns the offsets of the f16 scale fields in a block of t
// (the ones that must not be NaN or Inf for a meaningful dot).
func scaleFields(t quant.Type) []int {
	switch t {
	case quant.Q8_0, quant.Q4_0, quant.Q5_0:
		return []int{0}
	case quant.Q4_1, quant.Q5_1:
		return []int{0, 2}
	case quant.Q2_K:
		return []int{80, 82}
	case quant.Q3_K:
		return []int{108}
	case quant.Q4_K, quant.Q5_K:
		return []int{0, 2}
	case quant.Q6_K:
		return []int{208}
	}
	return nil
}

// weightRow builds nb blocks of t: quant bytes from fill, f16 scales from
// scale. Float types get finite random values.
func weightRow(rng *rand.Rand, t quant.Type, nb int, fill func(i int) byte, scale func() uint16) []byte {
	b := make([]byte, nb*t.BlockSize())
	switch t {
	case quant.F32:
		for i := 0; i < len(b); i += 4 {
			binary.LittleEndian.PutUint32(b[i:], math.Float32bits(float32(rng.NormFloat64())))
		}
		return b
	case quant.F16, quant.BF16:
		for i := 0; i < len(b); i += 2 {
			binary.LittleEndian.PutUint16(b[i:], quant.FP32ToFP16(float32(rng.NormFloat64())))
			if t == quant.BF16 {
				binary.LittleEndian.PutUint16(b[i:], quant.FP32ToBF16(float32(rng.NormFloat64())))
			}
		}
		return b
	}
	for i := range b {
		b[i] = fill(i)
	}
	for k := 0; k < nb; k++ {
		for _, off := range scaleFields(t) {
			binary.LittleEndian.PutUint16(b[k*t.BlockSize()+off:], scale())
		}
	}
	return b
}

// unitActs builds an activation row of type at (Q8_0, Q8_1 or Q8_K) with
// scale 1 and quants from q, so that every product is an exact integer.
func unitActs(at quant.Type, nb int, q func() int8) []byte {
	b := make([]byte, nb*at.BlockSize())
	for k := 0; k < nb; k++ {
		blk := b[k*at.BlockSize() : (k+1)*at.BlockSize()]
		switch at {
		case quant.Q8_0, quant.Q8_1:
			binary.LittleEndian.PutUint16(blk, 0x3c00)
			var sum int
			for j := 0; j < 32; j++ {
				v := q()
				blk[at.BlockSize()-32+j] = byte(v)
				sum += int(v)
			}
			if at == quant.Q8_1 {
				binary.LittleEndian.PutUint16(blk[2:], quant.FP32ToFP16(float32(sum)))
			}
		case quant.Q8_K:
			binary.LittleEndian.PutUint32(blk, math.Float32bits(1))
			for g := 0; g < 16; g++ {
				var sum int
				for j := 0; j < 16; j++ {
					v := q()
					blk[4+16*g+j] = byte(v)
					sum += int(v)
				}
				binary.LittleEndian.PutUint16(blk[260+2*g:], uint16(int16(sum)))
			}
		}
	}
	return b
}

// exactDot is the float64 dot of the dequantized rows and the sum of the
// magnitudes of its terms.
func exactDot(t quant.Type, n int, w, a []byte) (dot, mag float64) {
	wf, af := make([]float32, n), make([]float32, n)
	if err := quant.Dequantize(t, w[:len(w)], wf); err != nil {
		panic(err)
	}
	if err := quant.Dequantize(quant.VecDotType(t), a, af); err != nil {
		panic(err)
	}
	for i := range wf {
		p := float64(wf[i]) * float64(af[i])
		dot += p
		mag += math.Abs(p)
	}
	return dot, mag
}

// TestDotKernels runs every dot kernel of every kernel set against quant's
// scalar VecDot on random and adversarial rows of 1 to 29 blocks, passed as
// unaligned slices, alone and four activation rows at a time. With unit
// scales every product and partial sum is an exact integer, so the results
// must be equal; otherwise they may differ by float accumulation order only.
func TestDotKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	fills := map[string]func(i int) byte{
		"random": func(int) byte { return byte(rng.Uint32()) },
		"0xFF":   func(int) byte { return 0xFF },
		"0x80":   func(int) byte { return 0x80 },
		"0x7F":   func(int) byte { return 0x7F },
		"zero":   func(int) byte { return 0 },
	}
	for _, ks := range kernelSets {
		for _, typ := range dotTypes {
			at := quant.VecDotType(typ)
			k := ks.dot(typ)
			for _, nb := range []int{1, 2, 3, 5, 8, 29} {
				n := nb * typ.BlockLen()
				for fname, fill := range fills {
					for _, unit := range []bool{true, false} {
						if unit && (at == quant.F32 || at == quant.F16 || at == quant.BF16) {
							continue
						}
						name := fmt.Sprintf("%s/%s/nb=%d/%s/unit=%v", ks.name, typ, nb, fname, unit)
						scale := func() uint16 { return quant.FP32ToFP16(float32(rng.NormFloat64()) * 0.01) }
						if unit {
							scale = func() uint16 { return 0x3c00 }
						}
						if fname == "zero" {
							scale = func() uint16 { return 0 }
						}
						w := weightRow(rng, typ, nb, fill, scale)
						acts := make([][]byte, 4)
						for i := range acts {
							if unit {
								ext := int8(127 * (1 - 2*(i%2)))
								acts[i] = unitActs(at, nb, func() int8 {
									if i >= 2 {
										return ext // extremes: all +127 or all -127
									}
									return int8(rng.IntN(255) - 127)
								})
								continue
							}
							x := make([]float32, n)
							for j := range x {
								x[j] = float32(rng.NormFloat64() * math.Pow(10, float64(i-1)))
							}
							rb, _ := at.RowSize(n)
							acts[i] = make([]byte, rb)
							if err := quant.Quantize(at, x, acts[i]); err != nil {
								t.Fatal(err)
							}
						}
						checkDot(t, name, typ, n, k, w, acts, unit)
					}
				}
			}
		}
	}
}

func checkDot(t *testing.T, name string, typ quant.Type, n int, k dotKernel, w []byte, acts [][]byte, exact bool) {
	t.Helper()
	// Unaligned copies: one byte into larger buffers.
	wu := append(make([]byte, 1, len(w)+1), w...)[1:]
	stride := len(acts[0]) + 3
	packed := make([]byte, 1+4*stride)
	for i, a := range acts {
		copy(packed[1+i*stride:], a)
	}
	// Float scales of Q8_0 activations, rows 3 apart with a gap.
	var ad []float32
	nb := n / 32
	if quant.VecDotType(typ) == quant.Q8_0 {
		ad = make([]float32, 4*(nb+3))
		for i, a := range acts {
			q8Scales(a, ad[i*(nb+3):i*(nb+3)+nb])
		}
	}
	rowScales := func(i int) []float32 {
		if ad == nil {
			return nil
		}
		return ad[i*(nb+3):]
	}
	four := make([]float32, 4*5)
	if k.four != nil {
		k.four(n, wu, packed[1:], stride, ad, nb+3, four, 5)
	}
	// Eight activation rows: rows 0..3 and then the same in reverse.
	eight := make([]float32, 8*3)
	if k.eight != nil {
		packed8 := make([]byte, 1+8*stride)
		ad8 := make([]float32, 8*(nb+3))
		for s := 0; s < 8; s++ {
			i := min(s, 7-s)
			copy(packed8[1+s*stride:], packed[1+i*stride:1+(i+1)*stride])
			copy(ad8[s*(nb+3):(s+1)*(nb+3)], ad[i*(nb+3):])
		}
		k.eight(n, wu, len(wu), 1, packed8[1:], stride, ad8, nb+3, eight, 3)
	}
	for i, a := range acts {
		want := quant.VecDot(typ, n, w, a)
		got := k.one(n, wu, packed[1+i*stride:1+i*stride+len(a)], rowScales(i))
		ref, mag := exactDot(typ, n, w, a)
		ok := func(got float32) bool {
			if exact && math.Abs(ref) < 1<<23 && mag < 1<<24 {
				return got == want && float64(got) == ref
			}
			return math.Abs(float64(got-want)) <= 4e-6*mag+1e-30
		}
		if !ok(got) {
			t.Errorf("%s: row %d: one = %v, VecDot = %v (exact %v, magnitude %g)", name, i, got, want, ref, mag)
		}
		if k.four != nil {
			if w4, ok := gemmTwin(typ, n, w, a); ok {
				// llama.cpp's repacked gemm scales parts of each block.
				if math.Float32bits(four[5*i]) != math.Float32bits(w4) {
					t.Errorf("%s: row %d: four = %v, gemm twin %v", name, i, four[5*i], w4)
				}
			} else if math.Float32bits(four[5*i]) != math.Float32bits(got) {
				t.Errorf("%s: row %d: four = %v, one = %v: a row's result must not depend on its batch", name, i, four[5*i], got)
			}
		}
		for _, s := range []int{i, 7 - i} {
			if k.eight != nil && math.Float32bits(eight[3*s]) != math.Float32bits(got) {
				t.Errorf("%s: row %d: eight (slot %d) = %v, one = %v: a row's result must not depend on its batch", name, i, s, eight[3*s], got)
			}
		}
	}
}

// gemmTwin returns the four-row (gemm) result of the formats whose
// repacked llama.cpp kernels round otherwise in a batch of four.
func gemmTwin(typ quant.Type, n int, w, a []byte) (float32, bool) {
	switch typ {
	case quant.Q4_K:
		return dotQ4_KRepacked(n, w, a, 2), true
	case quant.Q2_K:
		return dotQ2_KRepacked(n, w, a, 8), true
	}
	return 0, false
}
