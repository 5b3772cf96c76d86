//go:build !purego

package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/qilin-ai/qilin/quant"
)

// The NEON sets are in kernelSets on arm64, so the kernel-set tests
// (TestDotKernels, TestQuantizeActivations, TestToF16, TestExp,
// TestSwiGLUKernelSets, TestMatMul..., TestTileKernels) run them too; the
// tests here add what those do not check: every dot kernel's bits against
// the generic set on adversarial rows, and the attention stages one by one.

// TestNEONDotsMatchGeneric runs the dot kernels of every NEON set (plain
// and dotprod, whichever this CPU runs) against the generic set, one row
// and four rows at a time, on quantized random rows, random bytes (every
// quant pattern), constant fills and extreme activations: every result must
// have the generic kernel's bits.
func TestNEONDotsMatchGeneric(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	for _, ks := range neonTestSets(t) {
		for typ := quant.Type(0); typ < maxType; typ++ {
			k := ks.dots[typ]
			if k.one == nil {
				continue
			}
			at := quant.VecDotType(typ)
			nbs := []int{1, 2, 3, 7, 29}
			switch typ.BlockLen() {
			case quant.QK_K:
				nbs = []int{1, 2, 3, 5}
			case 1: // float types: tails after multiples of 8
				nbs = []int{1, 7, 29, 300, 1031}
			}
			for _, nb := range nbs {
				n := nb * typ.BlockLen()
				for _, kind := range []string{"quantized", "random", "0xFF", "0x80", "zero"} {
					w := neonTestWeights(rng, typ, nb, kind)
					w2 := neonTestWeights(rng, typ, nb, "random")
					acts := make([][]byte, 4)
					for i := range acts {
						acts[i] = neonTestActs(rng, at, n, i)
					}
					checkNEONDot(t, fmt.Sprintf("%s/%s/nb=%d/%s", ks.name, typ, nb, kind), typ, n, k, w, w2, acts)
				}
			}
		}
	}
}

// neonTestSets returns the NEON sets to test: at least the plain one, which
// every arm64 CPU runs.
func neonTestSets(t *testing.T) []*kernelSet {
	sets := neonSets()
	if len(sets) == 0 {
		t.Fatal("no NEON kernel set on arm64")
	}
	for _, ks := range sets {
		t.Logf("testing kernel set %s", ks.name)
	}
	return sets
}

// neonTestWeights returns nb blocks of weights of type t: quantized from
// normal floats, random bytes with finite random scales, or a constant
// fill.
func neonTestWeights(rng *rand.Rand, t quant.Type, nb int, kind string) []byte {
	if kind == "quantized" {
		x := randVec(rng, nb*t.BlockLen(), math.Pow(10, float64(rng.IntN(5)-2)))
		w := make([]byte, nb*t.BlockSize())
		if err := quant.Quantize(t, x, w); err != nil {
			panic(err)
		}
		return w
	}
	fill := map[string]func(int) byte{
		"random": func(int) byte { return byte(rng.Uint32()) },
		"0xFF":   func(int) byte { return 0xFF },
		"0x80":   func(int) byte { return 0x80 },
		"zero":   func(int) byte { return 0 },
	}[kind]
	return weightRow(rng, t, nb, fill, func() uint16 { return quant.FP32ToFP16(float32(rng.NormFloat64()) * 0.01) })
}

// neonTestActs returns activation row i of type at for n elements: rows 0
// and 1 quantized from normal floats of magnitude 0.1 and 10; for Q8_0 and
// Q8_K, row 2 random bytes (quants from -128 to 127, random scales and
// sums) and row 3 large quants of one sign per block (96..127 or
// -128..-97), whose sums need more than float32's bits once scaled, else quantized rows of magnitude 1000 and 1e-3.
func neonTestActs(rng *rand.Rand, at quant.Type, n, i int) []byte {
	rb, _ := at.RowSize(n)
	b := make([]byte, rb)
	if i < 2 || (at != quant.Q8_0 && at != quant.Q8_K) {
		x := randVec(rng, n, []float64{0.1, 10, 1000, 1e-3}[i])
		if err := quant.QuantizeActivations(at, x, b); err != nil {
			panic(err)
		}
		return b
	}
	bs := at.BlockSize()
	for k := 0; k < len(b)/bs; k++ {
		blk := b[k*bs : (k+1)*bs]
		qs := blk[2:]
		if at == quant.Q8_K {
			qs = blk[4 : 4+quant.QK_K]
		}
		for j := range qs {
			qs[j] = byte(rng.Uint32())
			if i == 3 { // 96..127 or -128..-97
				qs[j] = byte(96+rng.IntN(32)) ^ byte(-(k % 2))
			}
		}
		if at == quant.Q8_0 {
			putU16(blk, quant.FP32ToFP16(float32(rng.NormFloat64())))
			continue
		}
		putU32(blk, math.Float32bits(float32(rng.NormFloat64())))
		for g := 0; g < 16; g++ {
			putU16(blk[4+quant.QK_K+2*g:], uint16(rng.Uint32()))
		}
	}
	return b
}

func putU16(b []byte, v uint16) { b[0], b[1] = byte(v), byte(v>>8) }

func putU32(b []byte, v uint32) { putU16(b, uint16(v)); putU16(b[2:], uint16(v>>16)) }

// checkNEONDot compares k's one, four and rows kernels with the generic one
// on unaligned copies of w and acts (rows a stride apart with a gap); rows
// runs over w and w2.
func checkNEONDot(t *testing.T, name string, typ quant.Type, n int, k dotKernel, w, w2 []byte, acts [][]byte) {
	t.Helper()
	gen := genericSet.dot(typ)
	wu := append(make([]byte, 1, len(w)+1), w...)[1:]
	stride := len(acts[0]) + 5
	packed := make([]byte, 3+4*stride)
	nb := n / 32
	adStride := nb + 2
	ad := make([]float32, 4*adStride)
	for i, a := range acts {
		copy(packed[3+i*stride:], a)
		if quant.VecDotType(typ) == quant.Q8_0 {
			q8Scales(a, ad[i*adStride:i*adStride+nb])
		}
	}
	const ostride = 3
	four := make([]float32, 4*ostride)
	if k.four != nil {
		k.four(n, wu, packed[3:], stride, ad, adStride, four, ostride)
	}
	for i, a := range acts {
		want := gen.one(n, w, a, ad[i*adStride:])
		got := k.one(n, wu, packed[3+i*stride:3+i*stride+len(a)], ad[i*adStride:])
		if math.Float32bits(got) != math.Float32bits(want) {
			t.Errorf("%s: row %d: one = %v, generic %v", name, i, got, want)
		}
		if k.four != nil && math.Float32bits(four[i*ostride]) != math.Float32bits(want) {
			t.Errorf("%s: row %d: four = %v, generic %v", name, i, four[i*ostride], want)
		}
		if k.rows == nil {
			continue
		}
		wstride := len(w) + 7
		run := make([]byte, wstride+len(w2))
		copy(run, w)
		copy(run[wstride:], w2)
		got2 := make([]float32, 2)
		k.rows(n, run, wstride, a, ad[i*adStride:], got2)
		for r, wr := range [][]byte{w, w2} {
			if want := gen.one(n, wr, a, ad[i*adStride:]); math.Float32bits(got2[r]) != math.Float32bits(want) {
				t.Errorf("%s: activation row %d, weight row %d: rows = %v, generic %v", name, i, r, got2[r], want)
			}
		}
	}
}

// TestNEONAttentionMatchesGeneric checks the NEON attention stages against
// their Go versions and whole heads against the generic set, bit for bit,
// for head sizes with and without a multiple of 8 and more positions than
// one block.
func TestNEONAttentionMatchesGeneric(t *testing.T) {
	rng := rand.New(rand.NewPCG(47, 48))
	for _, ks := range neonTestSets(t) {
		for _, dims := range [][2]int{{64, 64}, {128, 128}, {96, 40}, {20, 36}, {8, 8}} {
			hk, hv := dims[0], dims[1]
			for _, n := range []int{1, 2, 17, 300} {
				kStride, vStride := hk+8, hv+3
				// With n = 17, queries and keys spread over 2^-14..2^14, so
				// that the float64 lane sums round.
				wide := func(x []float32) []float32 {
					for i := range x {
						if n == 17 {
							x[i] *= float32(math.Exp2(float64(rng.IntN(29) - 14)))
						}
					}
					return x
				}
				k, v := make([]uint16, n*kStride), make([]uint16, n*vStride)
				ks.toF16(k, wide(randVec(rng, len(k), 1)))
				ks.toF16(v, randVec(rng, len(v), 1))
				q := wide(randVec(rng, hk, 2))
				for i := range q {
					q[i] = quant.FP16ToFP32(quant.FP32ToFP16(q[i]))
				}
				name := fmt.Sprintf("%s hk %d hv %d n %d", ks.name, hk, hv, n)

				m := min(n, attnBlock)
				want, got := make([]float32, m), make([]float32, m)
				attnScoresGo(want, q, k, kStride, 0.125)
				ks.attnScores(got, q, k, kStride, 0.125)
				checkBits(t, name+" scores", got, want)

				e, up := make([]float32, m), make([]bool, m)
				for j := range e {
					e[j], up[j] = float32(rng.Float64()), j%3 == 0
				}
				accWant := make([]uint16, hv)
				ks.toF16(accWant, randVec(rng, hv, 4))
				accGot := append([]uint16(nil), accWant...)
				sumWant := attnAccumGo(accWant, v, vStride, e, up, 1.5)
				sumGot := ks.attnAccum(accGot, v, vStride, e, up, 1.5)
				for i := range accGot {
					if accGot[i] != accWant[i] {
						t.Errorf("%s accum: column %d = %#x, Go %#x", name, i, accGot[i], accWant[i])
						break
					}
				}
				checkBits(t, name+" sum", []float32{sumGot}, []float32{sumWant})

				outWant, outGot := make([]float32, hv), make([]float32, hv)
				attentionHead(genericSet, outWant, q, k, kStride, v, vStride, n, 0.125, NewAttnScratch(hk, hv))
				attentionHead(ks, outGot, q, k, kStride, v, vStride, n, 0.125, NewAttnScratch(hk, hv))
				checkBits(t, name+" head", outGot, outWant)
			}
		}
	}
}

// checkBits reports the first element where got and want differ in bits.
func checkBits(t *testing.T, name string, got, want []float32) {
	t.Helper()
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Errorf("%s: [%d] = %v, want %v", name, i, got[i], want[i])
			return
		}
	}
}

// TestNEONReadBytes checks the streaming-read kernel against readBytesGo.
func TestNEONReadBytes(t *testing.T) {
	rng := rand.New(rand.NewPCG(51, 52))
	for _, n := range []int{0, 128, 384, 4096} {
		b := make([]byte, n+1)[1:]
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		if got, want := readBytes(b), readBytesGo(b); got != want {
			t.Errorf("%d bytes: %#x, readBytesGo %#x", n, got, want)
		}
	}
}
