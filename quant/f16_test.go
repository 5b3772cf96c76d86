package quant

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFP32ToFP16Known(t *testing.T) {
	p2 := func(e int) float32 { return float32(math.Ldexp(1, e)) }
	tests := []struct {
		name string
		in   float32
		want uint16
	}{
		{"zero", 0, 0x0000},
		{"negative zero", float32(math.Copysign(0, -1)), 0x8000},
		{"one", 1, 0x3c00},
		{"minus two", -2, 0xc000},
		{"largest finite", 65504, 0x7bff},
		{"just below overflow midpoint", 65519.996, 0x7bff},
		{"overflow midpoint ties to even (Inf)", 65520, 0x7c00},
		{"large", 1e6, 0x7c00},
		{"negative large", -1e30, 0xfc00},
		{"+Inf", float32(math.Inf(1)), 0x7c00},
		{"-Inf", float32(math.Inf(-1)), 0xfc00},
		{"NaN", float32(math.NaN()), 0x7e00},
		{"negative NaN", math.Float32frombits(0xffc00001), 0xfe00},
		{"signaling NaN", math.Float32frombits(0x7f800001), 0x7e00},
		{"smallest normal", p2(-14), 0x0400},
		{"smallest subnormal", p2(-24), 0x0001},
		{"half the smallest subnormal ties to zero", p2(-25), 0x0000},
		{"0.75 of the smallest subnormal", 3 * p2(-26), 0x0001},
		{"1.5 subnormal ulps ties to even", 3 * p2(-25), 0x0002},
		{"2.5 subnormal ulps ties to even", 5 * p2(-25), 0x0002},
		{"largest subnormal", 1023 * p2(-24), 0x03ff},
		{"subnormal rounding up into normal", 2047 * p2(-25), 0x0400},
		{"negative subnormal", -p2(-20), 0x8010},
		{"far below subnormals", p2(-40), 0x0000},
		{"float32 subnormal", math.Float32frombits(1), 0x0000},
		{"1+2^-11 ties to even", 1 + p2(-11), 0x3c00},
		{"1+3*2^-11 ties to even", 1 + 3*p2(-11), 0x3c02},
		{"just above midpoint", 1 + p2(-11) + p2(-23), 0x3c01},
		{"0.1", 0.1, 0x2e66},
	}
	for _, tt := range tests {
		if got := FP32ToFP16(tt.in); got != tt.want {
			t.Errorf("%s: FP32ToFP16(%g) = %#04x, want %#04x", tt.name, tt.in, got, tt.want)
		}
	}
}

func TestFP16ToFP32Known(t *testing.T) {
	tests := []struct {
		in   uint16
		want float32
	}{
		{0x3c00, 1},
		{0xc000, -2},
		{0x7bff, 65504},
		{0x0400, float32(math.Ldexp(1, -14))},
		{0x0001, float32(math.Ldexp(1, -24))},
		{0x83ff, -float32(math.Ldexp(1023, -24))},
		{0x3555, 0.333251953125},
		{0x7c00, float32(math.Inf(1))},
		{0xfc00, float32(math.Inf(-1))},
	}
	for _, tt := range tests {
		if got := FP16ToFP32(tt.in); got != tt.want {
			t.Errorf("FP16ToFP32(%#04x) = %g, want %g", tt.in, got, tt.want)
		}
	}
	if got := math.Float32bits(FP16ToFP32(0x8000)); got != 0x80000000 {
		t.Errorf("FP16ToFP32(0x8000) bits = %#x, want negative zero", got)
	}
	for _, h := range []uint16{0x7e00, 0x7c01, 0xfe00, 0x7fff} {
		f := FP16ToFP32(h)
		if !math.IsNaN(float64(f)) || math.Signbit(float64(f)) != (h&0x8000 != 0) {
			t.Errorf("FP16ToFP32(%#04x) = %g (bits %#x), want a NaN with the same sign", h, f, math.Float32bits(f))
		}
	}
}

// Every half converts to float32 and back to itself (NaNs to a NaN of the
// same sign).
func TestFP16RoundTripAll(t *testing.T) {
	for i := 0; i < 1<<16; i++ {
		h := uint16(i)
		f := FP16ToFP32(h)
		back := FP32ToFP16(f)
		if h&0x7c00 == 0x7c00 && h&0x3ff != 0 {
			if back&0x7c00 != 0x7c00 || back&0x3ff == 0 || back&0x8000 != h&0x8000 {
				t.Fatalf("NaN %#04x -> %g -> %#04x, want a NaN with the same sign", h, f, back)
			}
			continue
		}
		if back != h {
			t.Fatalf("%#04x -> %g -> %#04x", h, f, back)
		}
	}
}

// halfOracle rounds f to the nearest half the slow way: a binary search over
// every finite non-negative half value, ties to the even encoding.
type halfOracle struct{ vals []float64 } // vals[h] for h = 0..0x7bff

func newHalfOracle() *halfOracle {
	o := &halfOracle{}
	for h := 0; h <= 0x7bff; h++ {
		e, m := h>>10, h&0x3ff
		var v float64
		if e == 0 {
			v = math.Ldexp(float64(m), -24)
		} else {
			v = math.Ldexp(float64(1024+m), e-25)
		}
		o.vals = append(o.vals, v)
	}
	return o
}

func (o *halfOracle) round(f float32) uint16 {
	var sign uint16
	if math.Signbit(float64(f)) {
		sign = 0x8000
	}
	a := math.Abs(float64(f))
	if a >= 65520 { // 65504 + half an ulp: ties to even is Inf
		return sign | 0x7c00
	}
	i := sort.SearchFloat64s(o.vals, a) // first vals[i] >= a
	if i == 0 || o.vals[i] == a {
		return sign | uint16(i)
	}
	lo, hi := o.vals[i-1], o.vals[i]
	switch {
	case a-lo < hi-a:
		return sign | uint16(i-1)
	case a-lo > hi-a:
		return sign | uint16(i)
	case (i-1)%2 == 0:
		return sign | uint16(i-1)
	}
	return sign | uint16(i)
}

func TestFP32ToFP16MatchesOracle(t *testing.T) {
	o := newHalfOracle()
	check := func(f float32) {
		t.Helper()
		if want, got := o.round(f), FP32ToFP16(f); got != want {
			t.Fatalf("FP32ToFP16(%g = bits %#08x) = %#04x, want %#04x", f, math.Float32bits(f), got, want)
		}
	}
	// Every midpoint between adjacent halves, and its float32 neighbours.
	for h := 0; h < 0x7bff; h++ {
		mid := float32((o.vals[h] + o.vals[h+1]) / 2) // exact in float32
		for _, f := range []float32{mid, math.Nextafter32(mid, 0), math.Nextafter32(mid, 1e9)} {
			check(f)
			check(-f)
		}
	}
	r := rand.New(rand.NewPCG(1, 16))
	for i := 0; i < 300000; i++ {
		f := math.Float32frombits(r.Uint32())
		if math.IsNaN(float64(f)) {
			continue
		}
		check(f)
	}
}

func TestBF16(t *testing.T) {
	p2 := func(e int) float32 { return float32(math.Ldexp(1, e)) }
	tests := []struct {
		name string
		in   float32
		want uint16
	}{
		{"one", 1, 0x3f80},
		{"minus three", -3, 0xc040},
		{"midpoint ties to even (down)", 1 + p2(-8), 0x3f80},
		{"midpoint ties to even (up)", 1 + 3*p2(-8), 0x3f82},
		{"above midpoint", 1 + p2(-8) + p2(-20), 0x3f81},
		{"max float32 rounds to Inf", math.MaxFloat32, 0x7f80},
		{"+Inf", float32(math.Inf(1)), 0x7f80},
		{"-Inf", float32(math.Inf(-1)), 0xff80},
		{"quiet NaN truncated", math.Float32frombits(0x7fc00001), 0x7fc0},
		{"signaling NaN made quiet", math.Float32frombits(0x7f800001), 0x7fc0},
		{"negative NaN payload kept", math.Float32frombits(0xff812345), 0xffc1},
		{"subnormal kept", math.Float32frombits(0x00010000), 0x0001},
		{"negative zero", float32(math.Copysign(0, -1)), 0x8000},
	}
	for _, tt := range tests {
		if got := FP32ToBF16(tt.in); got != tt.want {
			t.Errorf("%s: FP32ToBF16(%g) = %#04x, want %#04x", tt.name, tt.in, got, tt.want)
		}
	}
	for i := 0; i < 1<<16; i++ {
		h := uint16(i)
		f := BF16ToFP32(h)
		if math.Float32bits(f) != uint32(h)<<16 {
			t.Fatalf("BF16ToFP32(%#04x) bits = %#08x", h, math.Float32bits(f))
		}
		if back := FP32ToBF16(f); back != h && !(math.IsNaN(float64(f)) && back == h|64) {
			t.Fatalf("%#04x -> %g -> %#04x", h, f, back)
		}
	}
}

func TestHalfRowsAndDots(t *testing.T) {
	x := []float32{1, -2, 0.5, 65504, 3.140625, -0.25}
	for _, typ := range []Type{F16, BF16, F32} {
		t.Run(typ.String(), func(t *testing.T) {
			b := make([]byte, typ.BlockSize()*len(x))
			if err := Quantize(typ, x, b); err != nil {
				t.Fatal(err)
			}
			got := make([]float32, len(x))
			if err := Dequantize(typ, b, got); err != nil {
				t.Fatal(err)
			}
			want := []float32{1, -2, 0.5, 65504, 3.140625, -0.25}
			if typ == BF16 {
				want[3], want[4] = 65536, 3.140625 // 65504 is not a bfloat16; 3.140625 is
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
			var dot float64
			for i := range want {
				dot += float64(want[i]) * float64(want[i])
			}
			if got := VecDot(typ, len(x), b, b); got != float32(dot) {
				t.Errorf("VecDot = %g, want %g", got, dot)
			}
		})
	}
}

func ExampleFP32ToFP16() {
	fmt.Printf("%#04x %#04x %#04x\n", FP32ToFP16(1), FP32ToFP16(65520), FP32ToFP16(float32(math.NaN())))
	// Output: 0x3c00 0x7c00 0x7e00
}
