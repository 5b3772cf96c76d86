package kernels

import (
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
}

// TestTwinsBitExact checks that the kernels whose generic twin reproduces
// the SIMD float order give identical bits on every set.
func TestTwinsBitExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 13))
	for _, typ := range []quant.Type{quant.Q8_0} {
		for _, nb := range []int{1, 3, 28, 152} {
			n := nb * 32
			x := randVec(rng, 2*n, 1)
			w, a := make([]byte, nb*34), make([]byte, nb*34)
			if err := quant.Quantize(typ, x[:n], w); err != nil {
				t.Fatal(err)
			}
			if err := quant.QuantizeActivations(quant.Q8_0, x[n:], a); err != nil {
				t.Fatal(err)
			}
			ad := make([]float32, n/32)
			q8Scales(a, ad)
			want := genericSet.dot(typ).one(n, w, a, ad)
			for _, ks := range kernelSets[1:] {
				if got := ks.dot(typ).one(n, w, a, ad); math.Float32bits(got) != math.Float32bits(want) {
					t.Errorf("%s %s nb=%d: %v, generic twin %v", ks.name, typ, nb, got, want)
				}
			}
		}
	}
}
