package kernels

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/qilin-ai/qilin/quant"
)

// TestFMA32 checks fma32 against a*b+c computed exactly with math/big and
// rounded once to float32, on random operands and on halfway cases where
// rounding through float64 first would go wrong.
func TestFMA32(t *testing.T) {
	rng := rand.New(rand.NewPCG(10, 11))
	check := func(a, b, c float32) {
		t.Helper()
		x := new(big.Float).SetPrec(300).SetFloat64(float64(a))
		x.Mul(x, new(big.Float).SetPrec(300).SetFloat64(float64(b)))
		x.Add(x, new(big.Float).SetPrec(300).SetFloat64(float64(c)))
		want, _ := x.Float32()
		if got := fma32(a, b, c); math.Float32bits(got) != math.Float32bits(want) {
			t.Errorf("fma32(%v, %v, %v) = %v, want %v", a, b, c, got, want)
		}
		if got := fma32Slow(a, b, c); math.Float32bits(got) != math.Float32bits(want) {
			t.Errorf("fma32Slow(%v, %v, %v) = %v, want %v", a, b, c, got, want)
		}
	}
	for i := 0; i < 200000; i++ {
		a := float32(rng.NormFloat64() * math.Exp2(float64(rng.IntN(40)-20)))
		b := float32(rng.NormFloat64())
		c := float32(rng.NormFloat64() * math.Exp2(float64(rng.IntN(60)-30)))
		check(a, b, c)
	}
	// A halfway case: a*b = 2^-24 - 2^-70 and c = 1+2^-23, whose sum in
	// float64 is exactly halfway between two float32 values (so rounding it
	// again goes to the even one, 1+2^-22), while the true sum lies just
	// below the halfway point (1+2^-23 is right).
	a, b, c := float32(math.Exp2(-24)*(1+math.Exp2(-23))), float32(1-math.Exp2(-23)), float32(1+math.Exp2(-23))
	if naive := float32(float64(a)*float64(b) + float64(c)); naive == c {
		t.Fatalf("test case is not a double-rounding case")
	}
	check(a, b, c)
	check(-a, b, -c)
	check(0, 5, 3)
	check(3, 0, 0)
	// Results in and near float32's subnormal range, whose grid is coarser.
	for i := 0; i < 20000; i++ {
		a := float32(rng.NormFloat64() * math.Exp2(float64(rng.IntN(20)-70)))
		b := float32(rng.NormFloat64() * math.Exp2(float64(rng.IntN(20)-70)))
		c := float32(rng.NormFloat64() * math.Exp2(float64(rng.IntN(30)-150)))
		check(a, b, c)
	}
}

// TestTwinsBitExact checks that every set's one-row kernel gives the bits of
// the generic set, whose twins (twin.go, twin_x86.go) follow llama.cpp's x86
// float order for every quantized format.
func TestTwinsBitExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 13))
	for _, typ := range []quant.Type{quant.Q8_0, quant.Q4_0, quant.Q5_0, quant.Q4_1, quant.Q5_1, quant.Q2_K, quant.Q3_K, quant.Q4_K, quant.Q5_K, quant.Q6_K} {
		for _, nb := range []int{1, 3, 28, 152} {
			if typ.BlockLen() == 256 && nb > 28 {
				continue
			}
			n := nb * typ.BlockLen()
			x := randVec(rng, 2*n, 1)
			at := quant.VecDotType(typ)
			w, a := make([]byte, nb*typ.BlockSize()), make([]byte, nb*at.BlockSize())
			if err := quant.Quantize(typ, x[:n], w); err != nil {
				t.Fatal(err)
			}
			if err := quant.QuantizeActivations(at, x[n:], a); err != nil {
				t.Fatal(err)
			}
			ad := make([]float32, n/32)
			if at == quant.Q8_0 {
				q8Scales(a, ad)
			}
			want := genericSet.dot(typ).one(n, w, a, ad)
			plain, hasPlain := plainDot(typ)
			for _, ks := range kernelSets[1:] {
				if got := ks.dot(typ).one(n, w, a, ad); math.Float32bits(got) != math.Float32bits(want) {
					t.Errorf("%s %s nb=%d: %v, generic twin %v", ks.name, typ, nb, got, want)
				}
				if !hasPlain {
					continue
				}
				k, _ := ks.plainDot(typ)
				if got, want := k.one(n, w, a, ad), plain.one(n, w, a, ad); math.Float32bits(got) != math.Float32bits(want) {
					t.Errorf("%s %s unrepacked nb=%d: %v, generic twin %v", ks.name, typ, nb, got, want)
				}
			}
		}
	}
}

// TestTileKernels checks the tiled kernels of every set against their Go
// twins (repacked bytes and result bits) and against the set's one-row
// kernel: a batched token must get the bits it gets alone.
func TestTileKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 15))
	for _, ks := range kernelSets {
		for _, typ := range []quant.Type{quant.Q8_0, quant.Q5_0} {
			k := ks.dot(typ)
			if k.tile.run == nil {
				continue
			}
			for _, nb := range []int{1, 2, 7, 28} {
				for _, pairs := range []int{1, 3} {
					n, rows := nb*32, 2*pairs
					w := fastMatrix(rng, typ, rows, n)
					x := randVec(rng, 4*n, 1)
					arb := 34 * nb
					stride := arb + 5 // rows apart with a gap
					act := make([]byte, 4*stride)
					ad := make([]float32, 4*(nb+1))
					for i := 0; i < 4; i++ {
						ks.quantizeRow(quant.Q8_0, x[i*n:(i+1)*n], act[i*stride:i*stride+arb])
						q8Scales(act[i*stride:i*stride+arb], ad[i*(nb+1):i*(nb+1)+nb])
					}
					pb := tileBytes(n)
					got, want := make([]byte, pairs*pb), make([]byte, pairs*pb)
					for p := 0; p < pairs; p++ {
						w0, w1 := w.Data[2*p*w.RowBytes:], w.Data[(2*p+1)*w.RowBytes:]
						k.tile.repack(n, w0, w1, got[p*pb:])
						repackGo(typ, n, w0, w1, want[p*pb:])
					}
					name := fmt.Sprintf("%s/%s/nb=%d/pairs=%d", ks.name, typ, nb, pairs)
					if !bytes.Equal(got, want) {
						t.Fatalf("%s: repacked weights differ from repackGo", name)
					}
					out, twin := make([]float32, 4*rows+3), make([]float32, 4*rows+3)
					k.tile.run(n, got, pairs, act, stride, ad, nb+1, out, rows+1)
					dotLanes2x4Go(n, want, pairs, act, stride, ad, nb+1, twin, rows+1)
					for tok := 0; tok < 4; tok++ {
						a := act[tok*stride : tok*stride+arb]
						for r := 0; r < rows; r++ {
							o := tok*(rows+1) + r
							alone := k.one(n, w.Data[r*w.RowBytes:(r+1)*w.RowBytes], a, ad[tok*(nb+1):])
							if math.Float32bits(out[o]) != math.Float32bits(twin[o]) || math.Float32bits(out[o]) != math.Float32bits(alone) {
								t.Errorf("%s: row %d token %d: tile %v, twin %v, one %v", name, r, tok, out[o], twin[o], alone)
							}
						}
					}
				}
			}
		}
	}
}

// TestEightKernels checks the eight-token kernels of every set against the
// set's one-row kernel, bit for bit, over runs of weight rows with random
// block scales, activation rows of different magnitudes and strides with
// gaps.
func TestEightKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(20, 21))
	for _, ks := range kernelSets {
		for _, typ := range dotTypes {
			k := ks.dot(typ)
			if k.eight == nil {
				continue
			}
			at := quant.VecDotType(typ)
			for _, nb := range []int{1, 2, 7, 28} {
				for _, rows := range []int{1, 2, 5} {
					n := nb * typ.BlockLen()
					w := fastMatrix(rng, typ, rows, n)
					rowBytes := w.RowBytes + 7 // weight rows apart with a gap
					data := make([]byte, rows*rowBytes)
					for r := 0; r < rows; r++ {
						copy(data[r*rowBytes:], w.Data[r*w.RowBytes:(r+1)*w.RowBytes])
						for _, b := range randomScales(rng, typ, nb) {
							copy(data[r*rowBytes+b.off:], b.f16[:])
						}
					}
					arb, _ := at.RowSize(n)
					stride, adStride := arb+5, nb+3
					act, ad := make([]byte, 8*stride), make([]float32, 8*adStride)
					for i := 0; i < 8; i++ {
						row := act[i*stride : i*stride+arb]
						ks.quantizeRow(at, randVec(rng, n, math.Pow(10, float64(i%4-2))), row)
						if at == quant.Q8_0 {
							q8Scales(row, ad[i*adStride:i*adStride+nb])
						}
					}
					ostride := rows + 2
					out := make([]float32, 8*ostride)
					k.eight(n, data, rowBytes, rows, act, stride, ad, adStride, out, ostride)
					for i := 0; i < 8; i++ {
						for r := 0; r < rows; r++ {
							want := k.one(n, data[r*rowBytes:r*rowBytes+w.RowBytes], act[i*stride:i*stride+arb], ad[i*adStride:])
							if got := out[i*ostride+r]; math.Float32bits(got) != math.Float32bits(want) {
								t.Errorf("%s %s nb=%d rows=%d: row %d token %d: eight %v, one %v", ks.name, typ, nb, rows, r, i, got, want)
							}
						}
						for r := rows; r < ostride; r++ {
							if out[i*ostride+r] != 0 {
								t.Errorf("%s %s nb=%d rows=%d: token %d: wrote out[%d] past the rows", ks.name, typ, nb, rows, i, r)
							}
						}
					}
				}
			}
		}
	}
}

// blockScale is one f16 scale field of a block: its offset in the row and
// its bytes.
type blockScale struct {
	off int
	f16 [2]byte
}

// randomScales returns random positive and negative scales for every scale
// field of nb blocks of t.
func randomScales(rng *rand.Rand, t quant.Type, nb int) []blockScale {
	var s []blockScale
	for b := 0; b < nb; b++ {
		for _, off := range scaleFields(t) {
			var f [2]byte
			binary.LittleEndian.PutUint16(f[:], quant.FP32ToFP16(float32(rng.NormFloat64()*0.02)))
			s = append(s, blockScale{b*t.BlockSize() + off, f})
		}
	}
	return s
}

// TestMatMulBatchInvariant checks that MatMul gives each token the bits it
// gets alone, whatever the batch size and so whichever kernels (tiled,
// four-row, one-row) compute it, on every kernel set, for the formats whose
// llama.cpp arithmetic does not depend on the batch (TestMatMulQ4_KBatch
// covers Q4_K).
func TestMatMulBatchInvariant(t *testing.T) {
	rng := rand.New(rand.NewPCG(16, 17))
	const cols = 256
	for _, ks := range kernelSets {
		p := NewPool(2)
		p.ks = ks
		for _, typ := range []quant.Type{quant.Q8_0, quant.Q5_0, quant.Q4_0, quant.Q6_K, quant.Q5_K, quant.Q4_1} {
			for _, rows := range []int{7, 30} {
				w := fastMatrix(rng, typ, rows, cols)
				for _, n := range []int{5, 8, 13} {
					x := randVec(rng, n*cols, 1)
					out := make([]float32, n*rows)
					p.MatMul(out, w, x, n, make([]byte, ActivationBytes(typ, cols, n)))
					one := make([]float32, rows)
					for i := 0; i < n; i++ {
						p.MatMul(one, w, x[i*cols:(i+1)*cols], 1, make([]byte, ActivationBytes(typ, cols, 1)))
						for r, v := range one {
							if math.Float32bits(out[i*rows+r]) != math.Float32bits(v) {
								t.Errorf("%s %s rows=%d n=%d: token %d row %d: batched %v, alone %v", ks.name, typ, rows, n, i, r, out[i*rows+r], v)
							}
						}
					}
				}
			}
		}
		p.Close()
	}
}

// TestMatMulRepackedBatch checks MatMul's Q4_K and Q2_K arithmetic against
// the rules of llama.cpp's AVX-512 build, on every kernel set: with a
// multiple of 8 weight rows (repacked) the whole groups of four input rows
// from the start of the batch get the repacked gemm's bits and the rest the
// gemv's (each row alone); with any other number of rows, for a per-head
// stack and for an expert matrix, every input row gets the bits of the
// kernel llama.cpp uses then (unrepacked vec_dot, vec_dot, gemv).
func TestMatMulRepackedBatch(t *testing.T) {
	rng := rand.New(rand.NewPCG(20, 21))
	const cols = 512
	for _, ks := range kernelSets {
		p := NewPool(2)
		p.ks = ks
		for _, typ := range []quant.Type{quant.Q4_K, quant.Q2_K} {
			for _, rows := range []int{16, 30} {
				for _, layout := range []Layout{Plain, Expert, Unpacked} {
					w := fastMatrix(rng, typ, rows, cols)
					w.Layout = layout
					for _, n := range []int{1, 5, 8, 13} {
						x := randVec(rng, n*cols, 1)
						out := make([]float32, n*rows)
						scratch := make([]byte, ActivationBytes(typ, cols, n))
						p.MatMul(out, w, x, n, scratch)
						rb, _ := quant.Q8_K.RowSize(cols)
						plain, _ := plainDot(typ)
						for i := 0; i < n; i++ {
							a := scratch[i*rb : (i+1)*rb]
							for r := 0; r < rows; r++ {
								wr := w.Data[r*w.RowBytes : (r+1)*w.RowBytes]
								want := genericSet.dot(typ).one(cols, wr, a, nil) // gemv
								if rows%8 != 0 || layout == Unpacked {
									want = plain.one(cols, wr, a, nil)
								} else if g, _ := gemmTwin(typ, cols, wr, a); layout == Plain && i < n-n%4 {
									want = g
								}
								if math.Float32bits(out[i*rows+r]) != math.Float32bits(want) {
									t.Errorf("%s %s rows=%d layout=%d n=%d: token %d row %d: %v, want %v", ks.name, typ, rows, layout, n, i, r, out[i*rows+r], want)
								}
							}
						}
					}
				}
			}
		}
		p.Close()
	}
}

// TestRowsKernels checks the run-of-rows kernels against one, row by row,
// bit for bit, over rows of several block counts in a strided matrix.
func TestRowsKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(18, 19))
	for _, ks := range kernelSets {
		for _, typ := range dotTypes {
			k := ks.dot(typ)
			rowsKernelsMatchOne(t, rng, ks, ks.name, typ, k)
			if pk, ok := ks.plainDot(typ); ok {
				rowsKernelsMatchOne(t, rng, ks, ks.name+" unrepacked", typ, pk)
			}
		}
	}
}

// rowsKernelsMatchOne checks k.rows of set ks, where set, against k.one.
func rowsKernelsMatchOne(t *testing.T, rng *rand.Rand, ks *kernelSet, name string, typ quant.Type, k dotKernel) {
	t.Helper()
	if k.rows == nil {
		return
	}
	at := quant.VecDotType(typ)
	for _, nb := range []int{1, 3, 7} {
		n := nb * typ.BlockLen()
		const rows = 9
		w := fastMatrix(rng, typ, rows, n)
		arb, _ := at.RowSize(n)
		act := make([]byte, arb)
		ks.quantizeRow(at, randVec(rng, n, 1), act)
		var ad []float32
		if at == quant.Q8_0 {
			ad = make([]float32, nb)
			q8Scales(act, ad)
		}
		out := make([]float32, rows)
		k.rows(n, w.Data, w.RowBytes, act, ad, out)
		for r := range out {
			want := k.one(n, w.Data[r*w.RowBytes:(r+1)*w.RowBytes], act, ad)
			if math.Float32bits(out[r]) != math.Float32bits(want) {
				t.Errorf("%s %s nb=%d row %d: rows %v, one %v", name, typ, nb, r, out[r], want)
			}
		}
	}
}
